// Small helpers shared by the benchmarks' command lines.
#pragma once

#include <string>
#include <vector>

namespace pgenrm::bench {

// "a,b,c" -> {"a", "b", "c"}; "" -> {}.
inline std::vector<std::string> split(std::string s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto c = s.find(sep);
    out.push_back(s.substr(0, c));
    s = c == std::string::npos ? "" : s.substr(c + 1);
  }
  return out;
}

}  // namespace pgenrm::bench
