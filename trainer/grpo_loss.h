// The GRPO objective on tensors: group-relative advantages and the clipped
// policy loss with an optional k3 KL to a frozen reference. No model, no
// sampling: callers pass log-probs. One implementation serves CRE and the
// hard-negative curriculum (they differ only in the reward).
//
// Legend: N sequences (= prompts × G), T completion tokens.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace pgenrm::trainer {

struct GrpoKnobs {
  double clip_low = 0.2;    // ε_low: ratio floor 1 − ε_low for negative advantages
  double clip_high = 0.2;   // ε_high: ratio ceiling 1 + ε_high (DAPO's clip-higher: 0.28)
  double kl_coef = 0.0;     // β of the k3 KL to the reference (0 = no reference needed)
  std::string agg = "token_mean";  // token_mean (DAPO/TRL "bnpo") | seq_mean (TRL "grpo")
  bool std_norm = true;     // divide advantages by the group std (Dr.GRPO: false)
  double std_eps = 1e-4;    // as TRL
  bool drop_zero_var = true;  // groups with equal rewards leave the batch (DAPO)
};

struct Advantages {
  at::Tensor adv_N;    // float
  at::Tensor keep_N;   // bool: sequence takes part in the loss
  int64_t dropped_groups = 0;
};

// rewards_N ordered group by group (G consecutive sequences per prompt).
// A = r − mean_group(r), divided by (std_group(r) + eps) when std_norm
// (unbiased std, as TRL). Zero-variance groups get A = 0 and, with
// drop_zero_var, keep = false.
Advantages group_advantages(const at::Tensor& rewards_N, int64_t group, const GrpoKnobs& k);

struct GrpoLoss {
  at::Tensor loss;      // scalar, differentiable w.r.t. logp
  double kl = 0;        // mean k3 KL over kept tokens (0 when kl_coef = 0)
  double clip_frac = 0; // share of kept tokens whose ratio was clipped (TRL's region clip)
  double ratio_mean = 0;
};

// logp_NT: current policy; old_logp_NT: behaviour policy (rollout log-probs);
// ref_logp_NT: reference (undefined allowed when kl_coef = 0); mask_NT:
// completion tokens (float or bool). `denom` > 0 replaces the local
// normaliser (token count for token_mean, sequence count for seq_mean) with a
// global one, so micro-batches and ranks sum to the loss of the whole batch.
GrpoLoss grpo_loss(const at::Tensor& logp_NT, const at::Tensor& old_logp_NT,
                   const at::Tensor& ref_logp_NT, const at::Tensor& adv_N, const at::Tensor& mask_NT,
                   const GrpoKnobs& k, double denom = 0.0);

}  // namespace pgenrm::trainer
