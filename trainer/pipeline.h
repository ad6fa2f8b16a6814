// `pgenrm train`: the whole P-GenRM recipe on one dataset, in order —
//   data       PersonaWorld generated (or reused when its options match)
//   stage 0    pretraining of the backbone on world text (cached, keyed by
//              world + model + stage-0 options; the analog of starting from
//              a pretrained LLM)
//   baselines  Bradley–Terry scalar heads: non-personalised and with the
//              user's history
//   stage 1    PSI: SFT on the teacher's chains
//   stage 2    CRE: GRPO with R = α·PR + β·OR on history-only prompts
//   stage 3    curriculum: GRPO with R = β·OR, hard-negative share p0 → p1
//   eval       after every stage, plus the reference scorers (oracle,
//              achievable ceiling, non-personalised, random) and Ind-m
// and writes <run_dir>/results.json (one row per stage, the paper's
// ablation shape), metrics.jsonl and the final model in HF format.
#pragma once

#include <string>

#include "core/options.h"

namespace pgenrm::trainer {

// Returns the process exit code: 0 on success, checkpoint::kRequeueExitCode
// (85) after SIGTERM/SIGUSR1 once the checkpoint to continue from is on
// disk. `resume`: "" or "none" (fresh: an earlier run's checkpoints in the
// run's checkpoint directory are removed), "auto", a directory or a
// checkpoint file (trainer/run_checkpoint.h, docs/CHECKPOINTS.md).
int run_pipeline(const core::Config& cfg, const std::string& run_dir, const std::string& resume = "");

// `pgenrm eval`: one reward model (a Hugging Face directory, e.g.
// runs/<name>/model) or one reference scorer on the config's dataset and
// test subset, over eval.seeds seeds, with Ind-m chains; writes the report
// JSON (accuracy, se, n_pairs, ties, parse_failures, accuracy_ties_dropped,
// oracle_accuracy, groups, wall_s, diagnostics) to `out`.
struct EvalRequest {
  std::string checkpoint;  // HF model directory; or
  std::string scorer;      // oracle | ceiling | non_personalised | random
  int64_t ind = 1;         // chains per pair (1 = greedy)
  std::string out;
  // Test-time scaling (scaling/commands.h runs these; run_eval refuses them):
  int64_t pro = 0;             // Pro-n: neighbour users per pair
  bool scaling_table = false;  // the paper's Ind/Pro rows into one table
};
// Without scaling only: pro > 0 and scaling_table go through
// scaling::run_eval (scaling/commands.h), which calls this otherwise.
int run_eval(const core::Config& cfg, const EvalRequest& req);

}  // namespace pgenrm::trainer
