#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/error.h"

namespace pgenrm::core {

namespace {
int g_rank = 0;
}

int log_rank() { return g_rank; }

void init_logging(int rank, const std::string& level, bool all_ranks) {
  g_rank = rank;
  auto logger = spdlog::get("pgenrm");
  if (!logger) {
    logger = spdlog::stderr_color_mt("pgenrm");
    spdlog::set_default_logger(logger);
  }
  logger->set_pattern(fmt::format("[%H:%M:%S] [r{}] [%^%l%$] %v", rank));
  auto lvl = spdlog::level::from_str(level);
  PGENRM_CHECK(lvl != spdlog::level::off || level == "off", "unknown log level '" + level + "'",
               "use one of debug, info, warn, error");
  // Non-zero ranks stay quiet below warn unless all ranks were asked for.
  if (rank != 0 && !all_ranks && lvl < spdlog::level::warn) lvl = spdlog::level::warn;
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
}

}  // namespace pgenrm::core
