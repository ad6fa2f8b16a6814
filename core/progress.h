// Progress of a long loop: a redrawn bar with rate and ETA when stderr is a
// terminal, a plain line every `interval_s` seconds otherwise (CI, SLURM
// logs). Rank 0 only; other ranks get an inert object.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pgenrm::core {

enum class ProgressMode { kAuto, kBar, kLines, kOff };
ProgressMode parse_progress_mode(const std::string& s);

class Progress {
 public:
  Progress(std::string label, int64_t total, ProgressMode mode, double interval_s, bool active);
  ~Progress();
  // Marks `done` units complete; `extra` (e.g. "loss 1.23") is shown after the count.
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");

  // "1h02m", "3m05s", "12s": for ETA and durations.
  static std::string format_duration(double seconds);
  // The text of one status line; exposed for tests.
  std::string line(int64_t done, double elapsed_s, const std::string& extra) const;

 private:
  std::string label_;
  int64_t total_;
  bool bar_ = false, active_ = false, finished_ = false;
  double interval_s_;
  std::chrono::steady_clock::time_point start_, last_print_;
  int64_t last_done_ = 0;
};

}  // namespace pgenrm::core
