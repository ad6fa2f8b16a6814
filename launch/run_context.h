// What every subcommand does first: resolve the config (defaults → YAML →
// overrides), set up logging for this rank, create the run directory and
// write the resolved config into it (printed on rank 0 as well).
#pragma once

#include <string>
#include <vector>

#include "core/options.h"

namespace pgenrm::launch {

struct RunContext {
  core::Config cfg;
  std::string run_dir;  // <run.out_dir>/<run.name>
  int rank = 0;
  int world_size = 1;
};

// Throws core::ConfigError on a bad config. `make_run_dir` = false for
// subcommands that only read (inspect, tokenize).
RunContext make_run_context(const std::string& config_path,
                            const std::vector<std::string>& overrides, bool make_run_dir);

}  // namespace pgenrm::launch
