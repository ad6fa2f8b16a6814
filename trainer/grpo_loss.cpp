#include "trainer/grpo_loss.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace pgenrm::trainer {

Advantages group_advantages(const at::Tensor& rewards, int64_t G, const GrpoKnobs& k) {
  PGENRM_CHECK(G >= 2, "GRPO needs at least 2 samples per group, got " + std::to_string(G),
               "set grpo.group_size >= 2");
  PGENRM_CHECK(rewards.dim() == 1 && rewards.size(0) % G == 0,
               "rewards must be a flat vector of groups of " + std::to_string(G),
               "order rewards prompt by prompt, G per prompt");
  at::Tensor r = rewards.to(at::kFloat).view({-1, G});
  at::Tensor mean = r.mean(1, /*keepdim=*/true);
  at::Tensor std = r.std(1, /*unbiased=*/true, /*keepdim=*/true);
  at::Tensor adv = r - mean;
  if (k.std_norm) adv = adv / (std + k.std_eps);
  // Exact equality, not isclose: rewards come from a small discrete set.
  at::Tensor zero_var = (r == r.select(1, 0).unsqueeze(1)).all(1, /*keepdim=*/true);
  adv = adv.masked_fill(zero_var, 0.0);
  Advantages out;
  out.adv_N = adv.reshape({-1});
  out.keep_N = k.drop_zero_var ? zero_var.logical_not().expand_as(r).reshape({-1})
                               : at::ones({rewards.size(0)}, at::kBool);
  out.dropped_groups = zero_var.sum().item<int64_t>();
  return out;
}

GrpoLoss grpo_loss(const at::Tensor& logp, const at::Tensor& old_logp, const at::Tensor& ref_logp,
                   const at::Tensor& adv_N, const at::Tensor& mask_NT, const GrpoKnobs& k,
                   double denom) {
  PGENRM_CHECK(logp.sizes() == old_logp.sizes() && logp.sizes() == mask_NT.sizes(),
               "log-prob and mask shapes differ", "pass [N, T] tensors of one batch");
  PGENRM_CHECK(k.kl_coef == 0 || ref_logp.defined(), "kl_coef > 0 needs reference log-probs",
               "set grpo.kl_coef = 0 or keep a reference model");
  PGENRM_CHECK(k.agg == "token_mean" || k.agg == "seq_mean", "unknown aggregation " + k.agg,
               "use token_mean or seq_mean");
  at::Tensor mask = mask_NT.to(logp.scalar_type());
  at::Tensor adv = adv_N.to(logp.scalar_type()).unsqueeze(1);
  at::Tensor ratio = at::exp(logp - old_logp);
  at::Tensor clipped = ratio.clamp(1.0 - k.clip_low, 1.0 + k.clip_high);
  at::Tensor per_token = -at::min(ratio * adv, clipped * adv);
  at::Tensor kl;
  if (k.kl_coef != 0) {
    at::Tensor d = ref_logp - logp;
    kl = at::exp(d) - d - 1.0;  // k3: unbiased, always >= 0
    per_token = per_token + k.kl_coef * kl;
  }
  GrpoLoss out;
  if (k.agg == "token_mean") {
    at::Tensor total = (per_token * mask).sum();
    out.loss = denom > 0 ? total / denom : total / mask.sum().clamp_min(1.0);
  } else {
    at::Tensor per_seq = (per_token * mask).sum(1) / mask.sum(1).clamp_min(1.0);
    out.loss = denom > 0 ? per_seq.sum() / denom : per_seq.mean();
  }
  at::NoGradGuard no_grad;
  const double n_tok = std::max(1.0, mask.sum().item<double>());
  at::Tensor clip = ((ratio < 1.0 - k.clip_low).logical_and(adv < 0))
                        .logical_or((ratio > 1.0 + k.clip_high).logical_and(adv > 0));
  out.clip_frac = (clip.to(mask.scalar_type()) * mask).sum().item<double>() / n_tok;
  out.ratio_mean = (ratio * mask).sum().item<double>() / n_tok;
  if (kl.defined()) out.kl = (kl * mask).sum().item<double>() / n_tok;
  return out;
}

}  // namespace pgenrm::trainer
