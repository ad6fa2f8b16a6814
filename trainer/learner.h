// The optimizer step every stage shares, in the fixed order of a good
// trainer (STYLE.md): zero grads → micro-batches (forward + backward, each
// loss already divided by the batch-wide normaliser) → gradient sync across
// learner ranks → clip → finiteness check → optimizer step at the scheduled
// lr → step counter. Stages supply only "forward and backward one
// micro-batch"; none of them branches on being distributed.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <memory>
#include <vector>

#include "comm/grad_sync.h"
#include "trainer/optim.h"

namespace pgenrm::trainer {

// Gradient sync across learner ranks lives in comm/ (the bucketed,
// backward-overlapping all-reduce); the default does nothing, as in a single
// process.
using GradSync = comm::GradSync;

struct StepStats {
  double loss = 0;       // sum of the micro-batch losses (= batch loss)
  double grad_norm = 0;  // before clipping
  double lr = 0;
  bool skipped = false;  // non-finite gradients: no update
};

class Learner {
 public:
  Learner(std::vector<at::Tensor> params, const ScheduleSpec& schedule, double weight_decay,
          double grad_clip, GradSync* sync = nullptr);

  // `micro(i)` runs forward + backward of micro-batch i and returns its
  // (already normalised) loss value.
  StepStats step(const std::function<double(int64_t)>& micro, int64_t n_micro);

  int64_t steps_done() const { return step_; }
  // AdamW through the fused kernel (optim.h): on by default when the
  // parameters live on a GPU; the CPU keeps the loop (its numbers are the
  // reference every CPU test and run was measured with).
  void set_fused(bool on) { fused_ = on; }
  bool fused() const { return fused_; }
  // Low-precision (bf16/fp16) trainable parameters get fp32 master copies:
  // gradients are accumulated in the parameters' dtype, copied to fp32,
  // clipped, and AdamW (fp32 moments) updates the masters, which are then
  // rounded into the parameters — so updates smaller than a bf16 ulp are
  // not lost. fp32 parameters are updated in place, as before.
  bool has_master_weights() const { return !master_.empty(); }
  // The tensors the optimizer updates, by the parameters' names (`named`:
  // the model's named parameters): the masters where there are any. For
  // checkpointing the optimizer state by name.
  std::map<std::string, at::Tensor> optimizer_targets(const std::map<std::string, at::Tensor>& named) const;
  // After the parameters were restored (a resume): masters := parameters.
  // (Checkpoints hold the parameters, so a resumed bf16 run continues from
  // the rounded masters: close to, not bit-identical with, an uninterrupted
  // one. fp32 runs resume exactly.)
  void reset_masters_from_params();
  void set_steps_done(int64_t s) { step_ = s; }
  torch::optim::AdamW& optimizer() { return *opt_; }
  const std::vector<at::Tensor>& params() const { return params_; }

 private:
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> master_;  // fp32 copies of params_ (empty: params_ are fp32)
  ScheduleSpec schedule_;
  double grad_clip_;
  std::unique_ptr<torch::optim::AdamW> opt_;
  GradSync default_sync_;
  GradSync* sync_;
  int64_t step_ = 0;
  bool fused_ = false;
};

}  // namespace pgenrm::trainer
