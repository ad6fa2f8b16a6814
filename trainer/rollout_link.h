// The learners' side of separate rollout workers (DESIGN.md §8).
//
// When GRPO rollouts come from workers — MPI rollout ranks (dist.rollouts)
// and/or workers that join by TCP (dist.external_rollouts, `pgenrm rollout
// --coordinator HOST:PORT`) — learner 0 hosts the coordinator (or reaches a
// standalone `pgenrm coordinator`, dist.coordinator), and per GRPO step:
//
//   publish(model)   new weights version: broadcast to the MPI rollout ranks
//                    (comm::WeightSync, version + checksum), written as a
//                    file for external workers (rollout/weights.h), and
//                    announced in the coordinator's notice
//   submit(requests) one work item per prompt, keyed by the prompt's user
//                    (consistent hashing keeps a user on one worker)
//   collect(ids)     waits for every item's result (exactly once: the
//                    coordinator's ledger), then hands all of them to every
//                    learner rank, which takes its shard
//
// Every learner rank calls every method (the non-root ranks only receive);
// the MPI rollout ranks take part in publish() through the weight-sync
// communicator. The destructor tells the workers to stop.
//
// What it deliberately doesn't: decide what to submit when (the GRPO stage
// does: on-policy or one step off), or run the model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "rollout/protocol.h"

namespace pgenrm::comm {
class World;
}
namespace pgenrm::core {
struct Config;
}
namespace pgenrm::model {
class TransformerImpl;
}

namespace pgenrm::trainer {

class DataParallel;

struct CoordinatorEndpoint {
  std::string host;
  int port = 0;
  std::string token;
  std::string address() const { return host + ":" + std::to_string(port); }
};

// "node07:7070" → {"node07", 7070}; throws pgenrm::Error naming the text.
std::pair<std::string, int> split_host_port(const std::string& host_port);

// Whether this config sends rollouts to workers.
bool uses_rollout_workers(const core::Config& cfg, int mpi_rollout_ranks);

class RolloutLink {
 public:
  // Collective over the whole job (learners and rollout ranks): learner 0
  // starts or reaches the coordinator, every rank learns its endpoint.
  RolloutLink(const core::Config& cfg, comm::World* world, const DataParallel& dp, const std::string& run_dir);
  ~RolloutLink();
  RolloutLink(const RolloutLink&) = delete;
  RolloutLink& operator=(const RolloutLink&) = delete;

  const CoordinatorEndpoint& endpoint() const { return ep_; }

  // Learners: makes `m`'s weights the newest version; returns it.
  int64_t publish(model::TransformerImpl& m);
  int64_t version() const { return version_; }

  // Learners: submits one item per request (learner 0); returns their ids.
  std::vector<uint64_t> submit(const std::vector<rollout::Request>& reqs, const std::vector<std::string>& users);
  // Learners: every item's result in the order of `ids`. Throws when a
  // worker reports an error or nothing arrives for dist.rollout_timeout_s.
  std::vector<rollout::Result> collect(const std::vector<uint64_t>& ids, int64_t group);

  // Learner 0: the coordinator's ledger ({accepted, duplicates, requeued,
  // ..., workers: {name: {items, items_per_s, alive}}}).
  std::string ledger_json();
  // Learner 0: tells the workers to finish and leave (also done by the destructor).
  void stop();

  // Every rank: the endpoint rank 0 chose (used by the MPI rollout ranks).
  static CoordinatorEndpoint share_endpoint(comm::World* world, CoordinatorEndpoint ep);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  CoordinatorEndpoint ep_;
  int64_t version_ = -1;
};

}  // namespace pgenrm::trainer
