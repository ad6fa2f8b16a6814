#include "core/metrics.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::core {

MetricsWriter::MetricsWriter(const std::string& path) {
  f_ = std::fopen(path.c_str(), "a");
  PGENRM_CHECK(f_ != nullptr, "cannot open metrics file " + path + ": " + std::strerror(errno),
               "check that run.out_dir is writable");
}

MetricsWriter::~MetricsWriter() {
  if (f_) std::fclose(f_);
}

void MetricsWriter::write(int64_t step, const std::string& stage,
                          const std::map<std::string, double>& values) {
  if (!f_) return;
  nlohmann::ordered_json j;
  j["step"] = step;
  j["stage"] = stage;
  for (const auto& [k, v] : values) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  std::string line = j.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

}  // namespace pgenrm::core
