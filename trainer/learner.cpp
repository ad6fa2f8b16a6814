#include "trainer/learner.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/log.h"

namespace pgenrm::trainer {

Learner::Learner(std::vector<at::Tensor> params, const ScheduleSpec& schedule, double weight_decay,
                 double grad_clip, GradSync* sync)
    : schedule_(schedule), grad_clip_(grad_clip), sync_(sync ? sync : &default_sync_) {
  for (auto& p : params)
    if (p.requires_grad()) params_.push_back(p);
  opt_ = make_adamw(params_, schedule.lr, weight_decay);
}

StepStats Learner::step(const std::function<double(int64_t)>& micro, int64_t n_micro) {
  StepStats s;
  opt_->zero_grad(/*set_to_none=*/true);
  for (int64_t i = 0; i < n_micro; ++i) {
    if (i + 1 == n_micro) sync_->arm_overlap();  // its backward leaves the final gradients
    s.loss += micro(i);
  }
  sync_->all_reduce_grads(params_);
  s.loss = sync_->all_reduce_sum(s.loss);
  s.grad_norm = clip_grad_norm(params_, grad_clip_);
  s.lr = lr_at(schedule_, step_);
  if (!std::isfinite(s.grad_norm)) {
    // Every rank sees the same reduced norm, so every rank skips together.
    PGENRM_LOG_WARN("step ", step_, ": non-finite gradient norm; update skipped");
    s.skipped = true;
  } else {
    set_lr(*opt_, s.lr);
    opt_->step();
  }
  ++step_;
  return s;
}

}  // namespace pgenrm::trainer
