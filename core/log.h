// Logging: levels, a rank prefix, rank 0 only unless asked otherwise.
// Warnings and errors are printed by every rank (a failing peer must be
// heard). Backed by spdlog; call sites use fmt-style formatting.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace pgenrm::core {

// Sets up the process-wide logger. Safe to call again (e.g. once the rank is
// known after MPI_Init).
void init_logging(int rank, const std::string& level, bool all_ranks);
int log_rank();

}  // namespace pgenrm::core

#define PGENRM_LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define PGENRM_LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define PGENRM_LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define PGENRM_LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
