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

// `pgenrm data generate|calibrate`: action and output directory (empty out =
// the config's data.dir). Implemented in launch/cmd_data.cpp.
struct DataArgs {
  std::string action;
  std::string out;
};
int cmd_data(const CommonArgs& args, const DataArgs& d);
// Resolves and prints the config, creates the run directory; what the
// subcommand then runs depends on what this build provides.
int cmd_resolve_only(const std::string& sub, const CommonArgs& args);
int cmd_dry_run(const std::string& sub, const CommonArgs& args);

}  // namespace pgenrm::launch
