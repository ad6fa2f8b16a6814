// Collectives on tensors: the one interface every backend implements.
//
// What it does: all_reduce (sum / avg / max / min), broadcast, all_gather,
// reduce_scatter and barrier on at::Tensor, blocking or (all_reduce only)
// non-blocking through a Work handle. Each call takes a short label
// ("grads bucket 3") that the hang watchdog names if the call never ends.
// What it deliberately doesn't: byte counts, raw pointers or MPI/NCCL types
// in the interface; choosing a backend (world.h does that); knowing what the
// tensors mean (comm/ must not know what a reward is).
//
// Shapes follow torch.distributed's *_into_tensor conventions:
//   all_gather(x)      → x of every rank concatenated along dim 0
//                        (a 0-dim x counts as shape [1])
//   reduce_scatter(x)  → rank r gets rows [r·n/W, (r+1)·n/W) of the reduced x,
//                        x.size(0) must be divisible by the world size W
// Every rank must call the same collectives in the same order with the same
// shapes and dtypes; backends check what they cheaply can.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <string_view>

namespace pgenrm::comm {

enum class ReduceOp { kSum, kAvg, kMax, kMin };
const char* to_string(ReduceOp op);

// What to do when a collective does not complete in time (watchdog.h).
enum class HangAction {
  kAbort,  // print the message on stderr and MPI_Abort / std::abort (jobs)
  kThrow   // throw pgenrm::Error (in-process tests of the watchdog itself)
};

struct WatchdogOptions {
  double timeout_s = 300;  // a collective slower than this is a hang; <= 0 disables
  HangAction action = HangAction::kAbort;
};

// A collective in flight. wait() blocks (under the watchdog) until the
// result is in the tensor the collective was given; test() only polls and
// lets the backend progress. Destroying an unfinished Work waits for it.
class Work {
 public:
  virtual ~Work() = default;
  virtual bool test() = 0;
  virtual void wait() = 0;
};

class Collectives {
 public:
  virtual ~Collectives() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "single", "mpi" or "nccl", and the communicator ("learners", ...).
  virtual std::string backend() const = 0;
  virtual std::string group() const = 0;

  // In place on `t` (any layout; a non-contiguous tensor is staged).
  virtual void all_reduce(at::Tensor& t, ReduceOp op, std::string_view label = {}) = 0;
  // Starts the reduction and returns at once; `t` holds the result after
  // wait(). `t` must stay alive and untouched until then.
  virtual std::unique_ptr<Work> all_reduce_async(const at::Tensor& t, ReduceOp op,
                                                 std::string_view label = {}) = 0;
  // In place: every rank's `t` becomes root's `t`.
  virtual void broadcast(at::Tensor& t, int root, std::string_view label = {}) = 0;
  virtual at::Tensor all_gather(const at::Tensor& t, std::string_view label = {}) = 0;
  virtual at::Tensor reduce_scatter(const at::Tensor& t, ReduceOp op,
                                    std::string_view label = {}) = 0;
  virtual void barrier(std::string_view label = {}) = 0;

  // Convenience for counters and logged values.
  double all_reduce_scalar(double v, ReduceOp op, std::string_view label = {});
};

// The backend of a process that runs alone: reductions leave tensors as they
// are (sum over one rank), all_gather/reduce_scatter return copies.
std::unique_ptr<Collectives> make_single_collectives(std::string group = "world");

}  // namespace pgenrm::comm
