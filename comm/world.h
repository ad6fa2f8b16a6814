// The process's place in the job: MPI setup, roles, communicators.
//
// What it does: decides single-process vs MPI (launched by mpirun/srun, or
// MPI already initialised by the host program), initialises MPI with
// MPI_THREAD_SERIALIZED, resolves the role layout (learner ranks [0, L),
// rollout ranks [L, L+R)), and splits MPI_COMM_WORLD into
//   learners     — the learner ranks (gradient all-reduce),
//   weight_sync  — learner rank 0 + the rollout ranks (weight broadcast,
//                  root 0 = learner 0).
// Each communicator is a Collectives that sends CPU tensors over MPI and
// CUDA tensors over NCCL (created on first CUDA use).
//
// Single-process mode (no launcher in the environment): MPI is never
// initialised — a plain `pgenrm train` works with no mpirun and no orted —
// and every communicator is the no-op single-process backend. The layout
// collapses to one learner; rollout runs in-process (DESIGN.md §2).
//
// Why SERIALIZED and not FUNNELED: a CUDA backward runs the gradient hooks
// (grad_sync.h) on libtorch's device thread while the training thread
// blocks in backward(); MPI is then called from one thread at a time but
// not always the main one. Nothing calls MPI concurrently.
//
// What it deliberately doesn't: read the config (the caller passes a
// Layout), host the coordinator (coordinator/), or know about models.
#pragma once

#include <memory>
#include <string>

#include "comm/collectives.h"

namespace pgenrm::comm {

enum class Role { kLearner, kRollout };
const char* to_string(Role r);

struct Layout {
  int learners = 0;  // 0: every rank that is not a rollout rank
  int rollouts = 0;
};

struct WorldOptions {
  Layout layout;
  WatchdogOptions watchdog;
  // CUDA device of this rank for the NCCL backend; -1: local rank modulo
  // the visible devices (decided by the caller; comm/ reads no GPU count).
  int cuda_device = 0;
};

class World {
 public:
  // argc/argv may be null. Throws pgenrm::Error when the layout does not
  // match the number of ranks.
  explicit World(const WorldOptions& opts, int* argc = nullptr, char*** argv = nullptr);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // True when the environment shows an MPI launcher (Open MPI, PMI, PMIx).
  static bool launched_by_mpi();

  bool distributed() const;
  int rank() const;
  int size() const;
  Role role() const;
  bool is_learner() const { return role() == Role::kLearner; }
  bool is_rollout() const { return role() == Role::kRollout; }
  int n_learners() const;
  int n_rollouts() const;
  // Whether this rank belongs to the weight-sync group (learner 0, rollouts).
  bool in_weight_sync() const;

  Collectives& world();
  // Throws on a rank outside the group, naming the role.
  Collectives& learners();
  Collectives& weight_sync();

  const WatchdogOptions& watchdog() const;
  std::string describe() const;  // "rank 2/4 rollout (learners 2, rollouts 2, mpi)"

  // Prints "rank R: message" on stderr and ends the whole job with `code`
  // (MPI_Abort: mpirun tears every rank down; one process: exit).
  [[noreturn]] void abort(int code, const std::string& message) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgenrm::comm
