// `pgenrm eval` (with Ind-m / Pro-n and the scaling table) and
// `pgenrm prototypes`: wiring only, the work is in scaling/commands.h.
#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"
#include "scaling/commands.h"

namespace pgenrm::launch {

int cmd_eval(const CommonArgs& args, const EvalArgs& e) {
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/false);
  trainer::EvalRequest req;
  req.checkpoint = e.checkpoint;
  req.scorer = e.scorer;
  req.ind = e.ind;
  req.out = e.out;
  req.pro = e.pro;
  req.scaling_table = e.scaling_table;
  return scaling::run_eval(ctx.cfg, req);
}

int cmd_prototypes(const CommonArgs& args, const PrototypesArgs& p) {
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/false);
  return scaling::run_prototypes(ctx.cfg, {p.action, p.checkpoint, p.out});
}

}  // namespace pgenrm::launch
