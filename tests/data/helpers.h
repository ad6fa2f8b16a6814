// Small worlds for the data tests: fast to generate, big enough for the
// statistics each test asserts.
#pragma once

#include <filesystem>
#include <string>

#include "core/options.h"

namespace pgenrm::data::testing {

inline core::WorldOptions small_world(int64_t users = 150, int64_t seed = 11) {
  core::WorldOptions o;
  o.users = users;
  o.seed = seed;
  return o;
}

// A fresh, empty temp directory named after the test.
inline std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("pgenrm_data_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace pgenrm::data::testing
