#include "rollout/worker.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "coordinator/client.h"
#include "core/error.h"
#include "core/log.h"

namespace pgenrm::rollout {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One lease request, reconnecting for up to opts.reconnect_s.
coordinator::Lease lease_with_retry(coordinator::Client& client, const WorkerOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  while (true) {
    try {
      if (!client.connected()) client.connect();
      return client.lease(opts.max_items);
    } catch (const Error& e) {
      if (since(t0) > opts.reconnect_s) throw;
      PGENRM_LOG_WARN("rollout worker: ", e.what(), "; retrying");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

}  // namespace

WorkerStats run_worker(coordinator::Client& client, const WorkerHooks& hooks, const WorkerOptions& opts) {
  PGENRM_CHECK(hooks.update_weights && hooks.run, "rollout worker without hooks", "set update_weights and run");
  WorkerStats st;
  const auto t_start = std::chrono::steady_clock::now();
  int64_t held = -1;
  while (true) {
    const coordinator::Lease lease = lease_with_retry(client, opts);
    const Notice notice = notice_from_json(lease.notice);
    if (notice.version > held) {
      held = hooks.update_weights(notice);
      ++st.weight_updates;
    }
    if (notice.stop) {
      // The learners are done (or stopping): hand back anything leased and go.
      try {
        client.leave();
      } catch (const Error&) {
      }
      break;
    }
    if (lease.items.empty()) {
      std::this_thread::sleep_for(std::chrono::duration<double>(opts.poll_s));
      continue;
    }
    ++st.leases;
    for (size_t k = 0; k < lease.items.size(); ++k) {
      const auto& item = lease.items[k];
      const auto t0 = std::chrono::steady_clock::now();
      Result res;
      try {
        const Request req = request_from_json(item.payload);
        PGENRM_CHECK(held >= req.min_version,
                     "item " + std::to_string(item.id) + " needs weights version >= " +
                         std::to_string(req.min_version) + " but the newest published is " + std::to_string(held),
                     "the learner publishes before it submits; this is a bug");
        res = hooks.run(req, held);
        res.index = req.index;
      } catch (const std::exception& e) {
        // Reported to the learner, which stops with this message: a worker
        // that cannot serve a request (other data, other build, a model
        // error) must not quietly drop it.
        res.error = e.what();
      }
      res.version = held;
      res.seconds = since(t0);
      st.busy_s += res.seconds;
      try {
        client.result(lease.id, item.id, held, to_json(res));
      } catch (const Error& e) {
        // The connection broke: hand the lease back at once (leave re-queues
        // it) rather than wait for the heartbeat timeout, then carry on.
        PGENRM_LOG_WARN("rollout worker: ", e.what(), "; handing lease ", lease.id, " back");
        try {
          client.connect();
          client.leave();
        } catch (const Error&) {
        }
        break;
      }
      ++st.items;
      if (opts.die_after_items >= 0 && st.items >= opts.die_after_items && k + 1 < lease.items.size()) {
        PGENRM_LOG_WARN("rollout worker: --die-after-items ", opts.die_after_items,
                        " reached; killing this process (test hook)");
        ::kill(::getpid(), SIGKILL);
      }
    }
  }
  st.wall_s = since(t_start);
  return st;
}

}  // namespace pgenrm::rollout
