// Optimizer and schedule shared by every stage: AdamW with decoupled weight
// decay on matrices and embeddings (not on norms or biases), linear
// warmup then cosine decay to a floor, global-norm gradient clipping with a
// finiteness check.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>
#include <vector>

namespace pgenrm::trainer {

struct ScheduleSpec {
  double lr = 3e-4;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  double min_lr_ratio = 0.1;
};

// Learning rate at optimizer step `step` (0-based): linear warmup from
// lr/warmup to lr, then cosine from lr to lr·min_lr_ratio at total_steps.
double lr_at(const ScheduleSpec& s, int64_t step);

// AdamW over the trainable parameters: two groups, weight decay on tensors
// with ≥ 2 dims, none on norms and biases.
std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<at::Tensor>& params, double lr,
                                                double weight_decay, double beta2 = 0.95);
void set_lr(torch::optim::Optimizer& opt, double lr);

// One AdamW step. `fused`: through ATen's fused multi-tensor kernel
// (at::_fused_adamw_, one launch per group and device) on the same state
// tensors torch::optim::AdamW keeps, so checkpoints and the loop step stay
// interchangeable; otherwise torch::optim::AdamW::step(). AMSGrad groups
// always take the loop.
void adamw_step(torch::optim::AdamW& opt, bool fused);

// Clips the global L2 norm of the gradients to max_norm (0 = no clipping)
// and returns the norm before clipping; non-finite norms are returned as is
// (the caller skips the step).
double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm);

}  // namespace pgenrm::trainer
