// Errors a user can fix, and checks that stay on in release builds.
//
// PGENRM_CHECK(cond, msg, hint) throws pgenrm::Error carrying file:line, what
// went wrong and how to fix it. It is for input, data and invariants alike;
// we never use assert(), which NDEBUG would compile away.
#pragma once

#include <stdexcept>
#include <string>

namespace pgenrm {

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, const std::string& hint = "")
      : std::runtime_error(hint.empty() ? what : what + "\n  hint: " + hint),
        hint_(hint) {}
  const std::string& hint() const { return hint_; }

 private:
  std::string hint_;
};

[[noreturn]] void throw_check_failure(const char* file, int line, const char* cond,
                                      const std::string& msg, const std::string& hint);

}  // namespace pgenrm

#define PGENRM_CHECK(cond, msg, hint)                                              \
  do {                                                                             \
    if (!(cond)) ::pgenrm::throw_check_failure(__FILE__, __LINE__, #cond, (msg), (hint)); \
  } while (0)
