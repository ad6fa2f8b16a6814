// One function per subcommand. Each parses nothing itself: cli.cpp hands it
// the parsed flags. They live in launch/cmd_*.cpp and call into the libraries.
#pragma once

#include <string>
#include <vector>

namespace pgenrm::launch {

struct CommonArgs {
  std::string config;
  std::vector<std::string> overrides;
  bool dry_run = false;  // resolve, validate and write the config, then stop
  std::string resume;    // train: none | auto | checkpoint directory | file
};

struct TokenizeArgs {
  std::string tokenizer;
  bool add_special = false;
  bool decode = false;
  bool skip_special = false;
};

int cmd_tokenize(const TokenizeArgs& args);
// `pgenrm train`: the pipeline of trainer/pipeline.h.
int cmd_train(const CommonArgs& args);

// `pgenrm eval --config C (--checkpoint DIR | --scorer NAME) [--ind M] [--out FILE]`.
struct EvalArgs {
  std::string checkpoint, scorer, out;
  int64_t ind = 1, pro = 0;
  bool scaling_table = false;
};
// With --pro N and --scaling-table through scaling/ (launch/cmd_scaling.cpp).
int cmd_eval(const CommonArgs& common, const EvalArgs& args);

// `pgenrm prototypes build|refine|inspect [--checkpoint DIR] [--out FILE]`.
struct PrototypesArgs {
  std::string action, checkpoint, out;
};
int cmd_prototypes(const CommonArgs& common, const PrototypesArgs& args);

// `pgenrm checkpoint inspect|export PATH [--out DIR] [--tokenizer FILE]`.
struct CheckpointArgs {
  std::string action, path, out, tokenizer;
};
int cmd_checkpoint(const CheckpointArgs& args);

// `pgenrm data generate|calibrate [--out DIR] [key=value ...]` (PersonaWorld;
// empty out = the config's data.dir) and `pgenrm data
// stats|validate|convert|rank --format F PATH... [--out DIR] [--strict]`
// (real data; data/real.h). `args` holds the overrides of generate and
// calibrate, the paths of the others. Implemented in launch/cmd_data.cpp.
struct DataArgs {
  std::string action;
  std::string out;
  std::vector<std::string> args;
  std::string format;      // prism | prb | arena | lampqa
  bool strict = false;     // any bad row is fatal
  double min_gap = 10.0;   // PRISM score-gap filter
  int64_t history = 3;     // PRB: history pairs per test pair
  uint64_t seed = 1234;    // splits (PRISM, Arena), history sampling (PRB)
  double test_share = 0.2, val_share = 0.1;
  int64_t show = 10;       // file:line messages shown per skip reason
  std::string candidates;  // rank: LaMP-QA candidates file
  std::string scorer = "given";  // rank: given | rubric
};
int cmd_data(const CommonArgs& args, const DataArgs& d);
// `pgenrm rollout [--config C] [--run-dir DIR | --coordinator HOST:PORT --token T]`:
// a rollout worker outside MPI (trainer/rollout_roles.h).
struct RolloutArgs {
  std::string coordinator, token, run_dir, name;
  double wait_s = 600;
  int64_t die_after_items = -1;  // test hook
};
int cmd_rollout(const CommonArgs& common, const RolloutArgs& args);

// `pgenrm coordinator --token T [--bind A] [--port P]`: the coordinator alone.
struct CoordinatorArgs {
  std::string bind = "127.0.0.1", token;
  int port = 0;
  double heartbeat_s = 30;
  int items_per_lease = 4;
  double stats_every_s = 30;
};
int cmd_coordinator(const CoordinatorArgs& args);

// Resolves and prints the config, creates the run directory; what the
// subcommand then runs depends on what this build provides.
int cmd_resolve_only(const std::string& sub, const CommonArgs& args);
int cmd_dry_run(const std::string& sub, const CommonArgs& args);

}  // namespace pgenrm::launch
