#include <iostream>

#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"
#include "trainer/pipeline.h"

namespace pgenrm::launch {

int cmd_eval(const CommonArgs& args, const EvalArgs& e) {
  if (e.pro > 0) {
    std::cerr << "pgenrm eval: --pro (similar-user scoring through prototypes) is not part of this "
                 "build yet; run with --pro 0\n";
    return kExitUnavailable;
  }
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/false);
  return trainer::run_eval(ctx.cfg, {e.checkpoint, e.scorer, e.ind, e.out});
}

}  // namespace pgenrm::launch
