// The learner ranks as the training stages see them: which share of a
// step's batch is this rank's, sums of scalars over the ranks, and the
// gradient sync a Learner hands its gradients to. Every learner rank holds
// the whole dataset and draws the same batch indices from the same seeds;
// each takes a contiguous slice of every batch (`shard`), normalises its
// loss by the GLOBAL batch (tokens or sequences, known on every rank or
// summed), and the gradients are summed (comm::ReduceOp::kSum) — so k steps
// on N ranks reach the parameters of k steps on one rank with the whole
// batch, up to float summation order.
//
// One rank (no MPI launcher) is the same code with no-op collectives.
//
// Not here: MPI itself (comm/), what a step computes (trainer/*_stage, sft).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace pgenrm::comm {
class Collectives;
class GradSync;
}  // namespace pgenrm::comm

namespace pgenrm::trainer {

class DataParallel {
 public:
  // `learners` may be null: one rank.
  explicit DataParallel(comm::Collectives* learners = nullptr, double bucket_mb = 25);

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // This rank's [begin, end) of n items (contiguous; the first n % size
  // ranks take one more).
  std::pair<size_t, size_t> shard(size_t n) const;

  double sum(double v) const;
  bool any(bool v) const;
  void barrier(const std::string& label) const;
  // Every rank's bytes, in rank order (lengths may differ).
  std::vector<std::vector<uint8_t>> all_gather_bytes(const std::vector<uint8_t>& mine) const;
  // Rank 0's string on every rank (`s` is overwritten elsewhere).
  void broadcast_string(std::string& s, const std::string& label) const;

  // The gradient sync for a Learner over `params` (summing; hooks attached
  // now so the first step overlaps too); null on one rank.
  std::unique_ptr<comm::GradSync> make_grad_sync(const std::vector<at::Tensor>& params) const;

 private:
  comm::Collectives* c_;
  double bucket_mb_;
  int rank_ = 0, size_ = 1;
};

}  // namespace pgenrm::trainer
