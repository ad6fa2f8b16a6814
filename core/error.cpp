#include "core/error.h"

namespace pgenrm {

void throw_check_failure(const char* file, int line, const char* cond,
                         const std::string& msg, const std::string& hint) {
  std::string where = std::string(file) + ":" + std::to_string(line);
  throw Error(msg + " [check `" + cond + "` at " + where + "]", hint);
}

}  // namespace pgenrm
