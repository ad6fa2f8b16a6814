#include "trainer/optim.h"

#include <ATen/ATen.h>

#include <cmath>

namespace pgenrm::trainer {

double lr_at(const ScheduleSpec& s, int64_t step) {
  if (s.warmup_steps > 0 && step < s.warmup_steps)
    return s.lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  const int64_t decay = std::max<int64_t>(1, s.total_steps - s.warmup_steps);
  const double t = std::min(1.0, static_cast<double>(step - s.warmup_steps) / decay);
  const double floor = s.lr * s.min_lr_ratio;
  return floor + (s.lr - floor) * 0.5 * (1.0 + std::cos(M_PI * t));
}

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<at::Tensor>& params, double lr,
                                                double weight_decay, double beta2) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : params) {
    if (!p.requires_grad()) continue;
    (p.dim() >= 2 ? decay : no_decay).push_back(p);
  }
  auto opts = torch::optim::AdamWOptions(lr).betas({0.9, beta2}).eps(1e-8);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto with_decay = std::make_unique<torch::optim::AdamWOptions>(opts);
  with_decay->weight_decay(weight_decay);
  auto without = std::make_unique<torch::optim::AdamWOptions>(opts);
  without->weight_decay(0.0);
  groups.emplace_back(decay, std::move(with_decay));
  groups.emplace_back(no_decay, std::move(without));
  return std::make_unique<torch::optim::AdamW>(groups, opts);
}

void set_lr(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

void adamw_step(torch::optim::AdamW& opt, bool fused) {
  if (!fused) {
    opt.step();
    return;
  }
  at::NoGradGuard ng;
  for (auto& group : opt.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    if (o.amsgrad()) {
      opt.step();
      return;
    }
  }
  for (auto& group : opt.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    std::vector<at::Tensor> ps, gs, m1, m2, steps;
    std::vector<torch::optim::AdamWParamState*> states;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = opt.state()[p.unsafeGetTensorImpl()];
      if (!slot) {
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(0);
        st->exp_avg(at::zeros_like(p, at::MemoryFormat::Preserve));
        st->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Preserve));
        slot = std::move(st);
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
      ps.push_back(p);
      gs.push_back(p.grad());
      m1.push_back(st.exp_avg());
      m2.push_back(st.exp_avg_sq());
      // The step number this update is (the kernel reads it for the bias
      // corrections; PyTorch's Python wrapper increments before calling).
      steps.push_back(at::full({}, static_cast<double>(st.step() + 1), p.options().dtype(at::kFloat)));
      states.push_back(&st);
    }
    if (ps.empty()) continue;
    at::_fused_adamw_(ps, gs, m1, m2, {}, steps, o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()),
                      o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false, std::nullopt, std::nullopt);
    for (auto* st : states) st->step(st->step() + 1);
  }
}

double clip_grad_norm(const std::vector<at::Tensor>& params, double max_norm) {
  std::vector<at::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(at::kFloat).norm(2));
  if (norms.empty()) return 0.0;
  const double total = at::stack(norms).norm(2).item<double>();
  if (max_norm > 0 && std::isfinite(total) && total > max_norm) {
    const double scale = max_norm / (total + 1e-6);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return total;
}

}  // namespace pgenrm::trainer
