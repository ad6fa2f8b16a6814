// The hang watchdog: every blocking wait of a collective goes through here.
//
// What it does: polls a "done?" predicate (MPI_Test, cudaStreamQuery) with a
// short backoff until it holds or a deadline passes; past the deadline it
// turns the hang into a message naming this rank, the operation, its label
// and the communicator, then aborts the whole job (MPI_Abort, so mpirun
// tears down every rank) or, for tests, throws.
// What it deliberately doesn't: run a thread of its own. Polling from the
// waiting thread needs no locks, drives MPI's progress engine, and a hang
// can only happen where someone waits.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "comm/collectives.h"

namespace pgenrm::comm {

// Exit status of a job the watchdog aborted (distinct from 1 = error).
inline constexpr int kHangExitCode = 75;

class Watchdog {
 public:
  Watchdog(WatchdogOptions opts, int world_rank) : opts_(opts), world_rank_(world_rank) {}

  // Consumes: a predicate that polls one outstanding operation.
  // Waits for: the predicate to return true (it is polled with yields, then
  // sleeps doubling from 20 µs to 1 ms). Unblocked by: completion, or the
  // deadline, which runs `on_hang` (e.g. ncclCommAbort), then reports the
  // hang and never returns normally.
  void wait(const std::function<bool()>& done, std::string_view op, std::string_view group,
            std::string_view label, const std::function<void()>& on_hang = {}) const;

  // "rank 1: all_reduce(grads bucket 3) on 'learners' did not complete
  // within 30 s; a peer has probably died or hung — check the other ranks'
  // logs".
  std::string message(std::string_view op, std::string_view group, std::string_view label) const;

  const WatchdogOptions& options() const { return opts_; }

 private:
  [[noreturn]] void report(const std::string& msg) const;

  WatchdogOptions opts_;
  int world_rank_;
};

}  // namespace pgenrm::comm
