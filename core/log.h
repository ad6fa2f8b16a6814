// Logging: levels, a rank prefix, rank 0 only unless asked otherwise.
// Warnings and errors are printed by every rank (a failing peer must be
// heard). Backed by spdlog inside log.cpp only.
//
// Call sites concatenate with operator<< semantics:
//   PGENRM_LOG_INFO("step ", step, " loss ", loss);
// This header includes no formatting library on purpose: libtorch ships its
// own fmt headers (a newer major version than Debian's), and a translation
// unit that sees both breaks. Anything that includes libtorch may log.
#pragma once

#include <sstream>
#include <string>

namespace pgenrm::core {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Sets up the process-wide logger. Safe to call again (e.g. once the rank is
// known after MPI_Init).
void init_logging(int rank, const std::string& level, bool all_ranks);
int log_rank();
bool log_enabled(LogLevel level);
void log_message(LogLevel level, const std::string& text);

template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace pgenrm::core

#define PGENRM_LOG_AT(level, ...)                                                 \
  do {                                                                            \
    if (::pgenrm::core::log_enabled(level))                                       \
      ::pgenrm::core::log_message(level, ::pgenrm::core::concat(__VA_ARGS__));   \
  } while (0)
#define PGENRM_LOG_DEBUG(...) PGENRM_LOG_AT(::pgenrm::core::LogLevel::kDebug, __VA_ARGS__)
#define PGENRM_LOG_INFO(...) PGENRM_LOG_AT(::pgenrm::core::LogLevel::kInfo, __VA_ARGS__)
#define PGENRM_LOG_WARN(...) PGENRM_LOG_AT(::pgenrm::core::LogLevel::kWarn, __VA_ARGS__)
#define PGENRM_LOG_ERROR(...) PGENRM_LOG_AT(::pgenrm::core::LogLevel::kError, __VA_ARGS__)
