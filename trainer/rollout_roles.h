// The rollout worker processes (DESIGN.md §8), both running the lease loop
// of rollout/worker.h with this project's model and rewards:
//   - an MPI rollout rank of `pgenrm train` (dist.rollouts > 0): weights by
//     broadcast from learner 0 (comm/weight_sync.h);
//   - `pgenrm rollout` outside MPI, joining a running job by TCP: weights
//     from the files learner 0 publishes (rollout/weights.h).
// A worker rebuilds each prompt from the same data directory and checks
// it against the learner's hash, samples G chains from one prefill with
// the learner's sampling counters (so its chains equal the learners' own),
// and scores them with the stage's reward (trainer/grpo_rewards.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/options.h"
#include "rollout/protocol.h"

namespace pgenrm::comm {
class World;
}
namespace pgenrm::model {
class TransformerImpl;
}

namespace pgenrm::trainer {

struct Setup;

// G chains of one request, with rewards (the worker's unit of work).
rollout::Result serve_request(const Setup& s, const core::Config& cfg, model::TransformerImpl& m,
                              const rollout::Request& req);

// An MPI rollout rank: returns the exit code when the learners say stop.
int run_rollout_rank(const core::Config& cfg, comm::World& world);

struct ExternalWorker {
  std::string coordinator;  // HOST:PORT ("" = from <run_dir>/coordinator.json)
  std::string token;        // "" = from coordinator.json or $PGENRM_COORDINATOR_TOKEN
  std::string run_dir;      // the training run's directory
  std::string name;         // worker id ("" = host:pid)
  double wait_s = 600;      // how long to wait for the run's coordinator.json
  int64_t die_after_items = -1;  // test hook (rollout/worker.h)
};

// `pgenrm rollout`.
int run_external_worker(const core::Config& cfg, const ExternalWorker& w);

}  // namespace pgenrm::trainer
