#include "trainer/learner.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/log.h"

namespace pgenrm::trainer {

Learner::Learner(std::vector<at::Tensor> params, const ScheduleSpec& schedule, double weight_decay,
                 double grad_clip, GradSync* sync)
    : schedule_(schedule), grad_clip_(grad_clip), sync_(sync ? sync : &default_sync_) {
  bool low = false;
  for (auto& p : params)
    if (p.requires_grad()) {
      params_.push_back(p);
      low |= p.scalar_type() != at::kFloat && p.scalar_type() != at::kDouble;
    }
  fused_ = !params_.empty() && params_.front().is_cuda();
  if (low) {
    for (const auto& p : params_) master_.push_back(p.detach().to(at::kFloat).clone().requires_grad_(true));
    opt_ = make_adamw(master_, schedule.lr, weight_decay);
  } else {
    opt_ = make_adamw(params_, schedule.lr, weight_decay);
  }
}

std::map<std::string, at::Tensor> Learner::optimizer_targets(const std::map<std::string, at::Tensor>& named) const {
  if (master_.empty()) return named;
  std::map<std::string, at::Tensor> out = named;
  for (auto& [name, t] : out)
    for (size_t i = 0; i < params_.size(); ++i)
      if (params_[i].unsafeGetTensorImpl() == t.unsafeGetTensorImpl()) t = master_[i];
  return out;
}

void Learner::reset_masters_from_params() {
  at::NoGradGuard ng;
  for (size_t i = 0; i < master_.size(); ++i) master_[i].copy_(params_[i]);
}

StepStats Learner::step(const std::function<double(int64_t)>& micro, int64_t n_micro) {
  StepStats s;
  opt_->zero_grad(/*set_to_none=*/true);
  if (!master_.empty())
    for (auto& p : params_) p.mutable_grad().reset();
  for (int64_t i = 0; i < n_micro; ++i) {
    if (i + 1 == n_micro) sync_->arm_overlap();  // its backward leaves the final gradients
    s.loss += micro(i);
  }
  sync_->all_reduce_grads(params_);
  s.loss = sync_->all_reduce_sum(s.loss);
  // Master weights: the (reduced) low-precision gradients become fp32
  // gradients of the masters, which the optimizer updates.
  for (size_t i = 0; i < master_.size(); ++i)
    master_[i].mutable_grad() = params_[i].grad().defined() ? params_[i].grad().to(at::kFloat) : at::Tensor();
  s.grad_norm = clip_grad_norm(master_.empty() ? params_ : master_, grad_clip_);
  s.lr = lr_at(schedule_, step_);
  if (!std::isfinite(s.grad_norm)) {
    // Every rank sees the same reduced norm, so every rank skips together.
    PGENRM_LOG_WARN("step ", step_, ": non-finite gradient norm; update skipped");
    s.skipped = true;
  } else {
    set_lr(*opt_, s.lr);
    adamw_step(*opt_, fused_);
    at::NoGradGuard ng;
    for (size_t i = 0; i < master_.size(); ++i) params_[i].copy_(master_[i]);
  }
  ++step_;
  return s;
}

}  // namespace pgenrm::trainer
