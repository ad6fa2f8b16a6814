// The rollout worker's loop against the coordinator: lease work, bring the
// weights up to date, generate, send results, until the learner says stop.
//
//   loop:
//     lease ← coordinator.lease(max_items)        (every frame is a heartbeat)
//     notice ← lease.notice
//     if notice.version > held: held ← hooks.update_weights(notice)
//     for each item: request ← parse; result ← hooks.run(request, held)
//                    coordinator.result(lease, item, held, result)
//     (notice.stop → leave and return, before serving anything)
//     if nothing leased: sleep poll_s
//
// How the weights arrive is the caller's (hooks.update_weights): an MPI
// rollout rank enters the weight-sync broadcast of learner 0
// (comm/weight_sync.h), a worker outside MPI loads the published file
// (rollout/weights.h). Either verifies version and checksum.
//
// A lost connection is retried (reconnect_s, then the error propagates);
// the coordinator re-queues whatever this worker held, so nothing is lost.
//
// What it deliberately doesn't: know the model or the rewards (hooks.run),
// or decide anything about staleness (requests carry min_version; a worker
// generates with the newest weights it holds).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "rollout/protocol.h"

namespace pgenrm::coordinator {
class Client;
}

namespace pgenrm::rollout {

struct WorkerHooks {
  // Brings the held weights to the notice's version; returns the version held.
  std::function<int64_t(const Notice&)> update_weights;
  // Serves one request with the weights of `version`.
  std::function<Result(const Request&, int64_t version)> run;
};

struct WorkerOptions {
  int max_items = 4;          // items per lease
  double poll_s = 0.01;       // sleep after an empty lease
  double reconnect_s = 30;    // keep trying to reach a lost coordinator this long
  // Test hook (`pgenrm rollout --die-after-items N`): SIGKILL this process
  // after N items while it still holds the rest of its lease.
  int64_t die_after_items = -1;
};

struct WorkerStats {
  int64_t items = 0, leases = 0, weight_updates = 0;
  double busy_s = 0, wall_s = 0;
};

// Returns when a lease reply's notice says stop; throws pgenrm::Error when the coordinator is gone for good.
WorkerStats run_worker(coordinator::Client& client, const WorkerHooks& hooks, const WorkerOptions& opts);

}  // namespace pgenrm::rollout
