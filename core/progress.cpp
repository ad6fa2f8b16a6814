#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "core/error.h"

namespace pgenrm::core {

ProgressMode parse_progress_mode(const std::string& s) {
  if (s == "auto") return ProgressMode::kAuto;
  if (s == "bar") return ProgressMode::kBar;
  if (s == "lines") return ProgressMode::kLines;
  if (s == "off") return ProgressMode::kOff;
  throw Error("unknown progress mode '" + s + "'", "use auto, bar, lines or off");
}

Progress::Progress(std::string label, int64_t total, ProgressMode mode, double interval_s,
                   bool active)
    : label_(std::move(label)), total_(total), interval_s_(interval_s) {
  active_ = active && mode != ProgressMode::kOff;
  bar_ = mode == ProgressMode::kBar || (mode == ProgressMode::kAuto && isatty(STDERR_FILENO));
  start_ = last_print_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (active_ && bar_ && !finished_) std::fputc('\n', stderr);
}

std::string Progress::format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::string Progress::line(int64_t done, double elapsed, const std::string& extra) const {
  double rate = elapsed > 0 ? done / elapsed : 0;
  std::string eta = rate > 0 && total_ > 0 ? format_duration((total_ - done) / rate) : "?";
  double frac = total_ > 0 ? static_cast<double>(done) / total_ : 0;
  std::string s = fmt::format("{} {}/{} ({:.0f}%)", label_, done, total_, 100 * frac);
  if (bar_) {
    int width = 24, fill = static_cast<int>(frac * width + 0.5);
    s += " [" + std::string(fill, '#') + std::string(width - fill, '.') + "]";
  }
  s += fmt::format(" {:.2f}/s elapsed {} eta {}", rate, format_duration(elapsed), eta);
  if (!extra.empty()) s += " | " + extra;
  return s;
}

void Progress::update(int64_t done, const std::string& extra) {
  if (!active_) return;
  last_done_ = done;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  if (bar_) {
    if (since < 0.1 && done < total_) return;
    std::fprintf(stderr, "\r\033[K%s", line(done, elapsed, extra).c_str());
  } else {
    if (since < interval_s_ && done < total_) return;
    std::fprintf(stderr, "%s\n", line(done, elapsed, extra).c_str());
  }
  std::fflush(stderr);
  last_print_ = now;
}

void Progress::finish(const std::string& extra) {
  if (!active_ || finished_) return;
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, bar_ ? "\r\033[K%s\n" : "%s\n", line(last_done_, elapsed, extra).c_str());
  finished_ = true;
}

}  // namespace pgenrm::core
