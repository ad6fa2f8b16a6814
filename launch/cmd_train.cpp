#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"
#include "trainer/pipeline.h"

namespace pgenrm::launch {

int cmd_train(const CommonArgs& args) {
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/true);
  return trainer::run_pipeline(ctx.cfg, ctx.run_dir, args.resume);
}

}  // namespace pgenrm::launch
