// Shared bits of the real-data loader tests: fixture paths, error capture,
// lookups by id.
#pragma once

#include <functional>
#include <string>

#include "core/error.h"
#include "data/real.h"

namespace pgenrm::data::testing {

inline std::string fixture(const std::string& rel) {
  return std::string(PGENRM_SOURCE_DIR) + "/tests/data/fixtures/" + rel;
}

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

inline const Pair* pair_by_id(const Dataset& ds, const std::string& id) {
  for (const Pair& p : ds.pairs)
    if (p.pair_id == id) return &p;
  return nullptr;
}

inline const User* user_by_id(const Dataset& ds, const std::string& id) {
  for (const User& u : ds.users)
    if (u.user_id == id) return &u;
  return nullptr;
}

// The message of the skipped row at `line` of a file ending in `file`; ""
// if that line was not skipped.
inline std::string skipped_at(const LoadReport& r, const std::string& file, int64_t line) {
  for (const SkippedRow& s : r.skipped)
    if (s.line == line && s.file.size() >= file.size() &&
        s.file.compare(s.file.size() - file.size(), file.size(), file) == 0)
      return s.message + " [" + s.reason + "]";
  return "";
}

}  // namespace pgenrm::data::testing
