// Metrics as JSON lines: one object per step, flushed as written, so a
// crashed run keeps every step it logged. Only rank 0 writes (callers on
// other ranks get an inert writer).
#pragma once

#include <cstdio>
#include <map>
#include <string>

namespace pgenrm::core {

class MetricsWriter {
 public:
  MetricsWriter() = default;  // inert
  // Opens `path` for appending (a resumed run continues the same file).
  explicit MetricsWriter(const std::string& path);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Writes {"step": step, "stage": stage, <values>...}. Non-finite values are
  // written as null (JSON has no NaN).
  void write(int64_t step, const std::string& stage, const std::map<std::string, double>& values);
  bool active() const { return f_ != nullptr; }

 private:
  std::FILE* f_ = nullptr;
};

}  // namespace pgenrm::core
