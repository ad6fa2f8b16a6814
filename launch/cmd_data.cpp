// `pgenrm data generate|calibrate --config FILE [--out DIR] [key=value ...]`:
// writes a PersonaWorld directory, or recomputes the calibration of one,
// and prints the calibration table. Thin: the work is in data/generate.h.
#include <iostream>

#include "core/error.h"
#include "core/log.h"
#include "data/generate.h"
#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"

namespace pgenrm::launch {

int cmd_data(const CommonArgs& args, const DataArgs& d) {
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/false);
  const std::string dir = d.out.empty() ? ctx.cfg.data.dir : d.out;
  data::Calibration cal;
  if (d.action == "generate") {
    cal = data::generate_dir(ctx.cfg.world, ctx.cfg.data, dir);
  } else if (d.action == "calibrate") {
    cal = data::calibrate_dir(ctx.cfg.data, dir);
  } else {
    std::cerr << "pgenrm data: unknown action '" << d.action
              << "'\n  hint: use `pgenrm data generate` or `pgenrm data calibrate`\n";
    return kExitUsage;
  }
  std::cout << "PersonaWorld calibration of " << dir << " (h = " << cal.history
            << "; also in calibration.md / calibration.json):\n\n"
            << data::calibration_markdown(cal);
  return kExitOk;
}

}  // namespace pgenrm::launch
