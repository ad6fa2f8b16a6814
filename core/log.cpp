#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace pgenrm::core {

namespace {
int g_rank = 0;

spdlog::logger& logger() {
  auto l = spdlog::get("pgenrm");
  if (!l) {
    l = spdlog::stderr_color_mt("pgenrm");
    l->set_pattern("[%H:%M:%S] [r0] [%^%l%$] %v");
  }
  return *l;
}

spdlog::level::level_enum to_spd(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}
}  // namespace

int log_rank() { return g_rank; }

void init_logging(int rank, const std::string& level, bool all_ranks) {
  g_rank = rank;
  auto& l = logger();
  l.set_pattern("[%H:%M:%S] [r" + std::to_string(rank) + "] [%^%l%$] %v");
  auto lvl = spdlog::level::from_str(level);
  PGENRM_CHECK(lvl != spdlog::level::off || level == "off", "unknown log level '" + level + "'",
               "use one of debug, info, warn, error");
  // Non-zero ranks stay quiet below warn unless all ranks were asked for.
  if (rank != 0 && !all_ranks && lvl < spdlog::level::warn) lvl = spdlog::level::warn;
  l.set_level(lvl);
  l.flush_on(spdlog::level::warn);
}

bool log_enabled(LogLevel level) { return logger().should_log(to_spd(level)); }

void log_message(LogLevel level, const std::string& text) { logger().log(to_spd(level), text); }

}  // namespace pgenrm::core
