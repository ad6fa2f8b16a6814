#include <map>

#include "core/log.h"
#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"

namespace pgenrm::launch {

// Subcommands whose pipelines are not in this build yet still resolve and
// validate their config (so recipes can be checked today) and then say
// plainly that nothing else ran.
int cmd_resolve_only(const std::string& sub, const CommonArgs& args) {
  static const std::map<std::string, std::string> kWhere = {
      {"serve", "HTTP reward service (serve/)"},
  };
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/true);
  PGENRM_LOG_WARN("pgenrm ", sub, ": the config is valid and was written to ", ctx.run_dir,
                  "/config.yaml, but the ", kWhere.at(sub),
                  " is not part of this build yet; nothing else ran.");
  return kExitUnavailable;
}

int cmd_dry_run(const std::string& sub, const CommonArgs& args) {
  RunContext ctx = make_run_context(args.config, args.overrides, /*make_run_dir=*/true);
  PGENRM_LOG_INFO("pgenrm ", sub, " --dry-run: the config is valid; resolved config written to ",
                  ctx.run_dir, "/config.yaml");
  return kExitOk;
}

}  // namespace pgenrm::launch
