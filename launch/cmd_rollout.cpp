// `pgenrm rollout`: a rollout worker outside MPI that joins a training job
// through its coordinator (trainer/rollout_roles.h), and `pgenrm
// coordinator`: the coordinator as its own process (coordinator/server.h),
// for jobs whose learners reach it with dist.coordinator=HOST:PORT.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "coordinator/server.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop.h"
#include "launch/cli.h"
#include "launch/commands.h"
#include "launch/run_context.h"
#include "trainer/rollout_roles.h"

namespace pgenrm::launch {

int cmd_rollout(const CommonArgs& common, const RolloutArgs& a) {
  RunContext ctx = make_run_context(common.config, common.overrides, /*make_run_dir=*/false);
  trainer::ExternalWorker w;
  w.coordinator = a.coordinator;
  w.token = a.token;
  w.run_dir = a.run_dir.empty() && a.coordinator.empty() ? ctx.run_dir : a.run_dir;
  w.name = a.name;
  w.wait_s = a.wait_s;
  w.die_after_items = a.die_after_items;
  return trainer::run_external_worker(ctx.cfg, w);
}

int cmd_coordinator(const CoordinatorArgs& a) {
  coordinator::ServerOptions so;
  so.bind_address = a.bind;
  so.port = static_cast<uint16_t>(a.port);
  so.token = a.token;
  if (so.token.empty() && std::getenv("PGENRM_COORDINATOR_TOKEN")) so.token = std::getenv("PGENRM_COORDINATOR_TOKEN");
  PGENRM_CHECK(!so.token.empty(), "the coordinator needs a shared token",
               "pass --token T or set PGENRM_COORDINATOR_TOKEN (the learners use dist.token, the workers --token)");
  so.scheduler.heartbeat_timeout_s = a.heartbeat_s;
  so.scheduler.max_items_per_lease = a.items_per_lease;
  so.idle_timeout_s = std::max(120.0, 4 * a.heartbeat_s);
  coordinator::Server server(so);
  server.start();
  core::install_stop_handlers();
  ::signal(SIGINT, [](int s) { core::request_stop(s); });
  // The port on stdout (a script starting it with --port 0 reads it).
  std::cout << "coordinator listening on " << a.bind << ":" << server.port() << std::endl;
  auto last = std::chrono::steady_clock::now();
  while (!core::stop_requested()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (a.stats_every_s > 0 && std::chrono::steady_clock::now() - last > std::chrono::duration<double>(a.stats_every_s)) {
      last = std::chrono::steady_clock::now();
      const auto st = server.with_scheduler([](coordinator::Scheduler& s) { return s.stats(coordinator::Clock::now()); });
      std::string ws;
      for (const auto& w : st.workers)
        ws += " " + w.worker + (w.alive ? "" : "(dead)") + "=" + std::to_string(w.items_done) + " items/" +
              std::to_string(w.items_per_s).substr(0, 5) + " per s";
      PGENRM_LOG_INFO("coordinator: submitted ", st.submitted, " pending ", st.pending, " leased ", st.leased,
                      " done ", st.done, ";", ws);
    }
  }
  const std::string ledger = server.with_scheduler([](coordinator::Scheduler& s) { return s.ledger_summary_json(); });
  PGENRM_LOG_INFO("coordinator stopping (signal ", core::stop_signal(), "); ledger ", ledger);
  server.stop();
  return kExitOk;
}

}  // namespace pgenrm::launch
