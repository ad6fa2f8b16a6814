// The scaling subcommands, called by launch/:
//   run_eval        `pgenrm eval` with --pro and --scaling-table (without
//                   them it is trainer::run_eval, unchanged)
//   run_prototypes  `pgenrm prototypes build|refine|inspect`
#pragma once

#include <string>

#include "core/options.h"
#include "trainer/pipeline.h"

namespace pgenrm::scaling {

int run_eval(const core::Config& cfg, const trainer::EvalRequest& req);

struct PrototypesRequest {
  std::string action;      // build | refine | inspect
  std::string checkpoint;  // reward model (HF directory)
  std::string out;         // prototypes file written (default: scaling.prototypes or <checkpoint>/prototypes.safetensors)
};
int run_prototypes(const core::Config& cfg, const PrototypesRequest& req);

}  // namespace pgenrm::scaling
