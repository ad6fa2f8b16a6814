#include "launch/run_context.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/log.h"

namespace pgenrm::launch {

namespace {
// The rank as the launcher tells it, before MPI is initialised: mpirun
// (Open MPI), SLURM's srun, or torchrun-style RANK.
int env_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID", "RANK"}) {
    if (const char* v = std::getenv(var)) return std::atoi(v);
  }
  return 0;
}
int env_world_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS", "WORLD_SIZE"}) {
    if (const char* v = std::getenv(var)) return std::atoi(v);
  }
  return 1;
}
}  // namespace

RunContext make_run_context(const std::string& config_path,
                            const std::vector<std::string>& overrides, bool make_run_dir) {
  RunContext ctx;
  ctx.cfg = core::load_config(config_path, overrides);
  ctx.rank = env_rank();
  ctx.world_size = env_world_size();
  core::init_logging(ctx.rank, ctx.cfg.log.level, ctx.cfg.log.all_ranks);
  ctx.run_dir = (std::filesystem::path(ctx.cfg.run.out_dir) / ctx.cfg.run.name).string();
  if (make_run_dir && ctx.rank == 0) {
    std::error_code ec;
    std::filesystem::create_directories(ctx.run_dir, ec);
    PGENRM_CHECK(!ec, "cannot create run directory " + ctx.run_dir + ": " + ec.message(),
                 "set run.out_dir to a writable directory");
    const std::string text = core::dump_config(ctx.cfg);
    std::ofstream(ctx.run_dir + "/config.yaml") << text;
    PGENRM_LOG_INFO("resolved config (also in ", ctx.run_dir, "/config.yaml):\n", text);
  }
  return ctx;
}

}  // namespace pgenrm::launch
