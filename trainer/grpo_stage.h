// One GRPO update of the reward model: sample G chains per prompt from one
// shared prefill (model/generate.h), score them with the stage's reward
// (CRE: α·PR + β·OR; curriculum: β·OR — the caller's RewardFn), compute
// group-relative advantages, then μ PPO epochs of clipped-loss updates
// through the shared Learner. The stage never branches on being
// distributed; rollout workers and learners split the same calls (comm/).
//
// Legend: N = prompts × G sequences, T padded sequence length.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "model/generate.h"
#include "trainer/batch.h"
#include "trainer/grpo_loss.h"
#include "trainer/data_parallel.h"
#include "trainer/learner.h"

namespace pgenrm::trainer {

struct ChainReward {
  double reward = 0;     // what the advantage is computed from
  double outcome = 0;    // OR (1 / 0 / −0.1)
  double process = 0;    // PR in [0,1]
  bool format_error = false;
};

// Scores the G completions of prompt `item`.
using RewardFn = std::function<std::vector<ChainReward>(
    int64_t item, const std::vector<std::vector<int64_t>>& completions)>;

// A step's rollouts produced elsewhere (rollout workers, rollout/): G
// chains per prompt for ALL of the step's prompts, in prompt order.
struct RolloutBatch {
  std::vector<std::vector<int64_t>> tokens;   // [prompt * G + g]
  std::vector<std::vector<float>> logprobs;   // rollout log-probs of each token (same shape)
  std::vector<ChainReward> rewards;           // [prompt * G + g]
  int64_t prompt_tokens = 0, generated_tokens = 0;
};

struct GrpoStageConfig {
  GrpoKnobs knobs;
  int64_t group_size = 8;
  int64_t ppo_epochs = 1;
  int64_t micro_batch = 16;  // sequences per forward/backward
  model::SampleParams sample;
};

struct GrpoPrompt {
  int64_t item = 0;  // caller's index (pair id), handed back to the RewardFn
  std::vector<int64_t> ids;
};

class GrpoStage {
 public:
  // `reference` may be null when knobs.kl_coef == 0.
  // With `dp` (learner ranks > 1), every rank is given the same global
  // prompts and takes its shard (trainer/data_parallel.h); samples are those
  // of one rank with all prompts, metrics are over all ranks.
  GrpoStage(model::TransformerImpl& policy, model::TransformerImpl* reference, Learner& learner,
            GrpoStageConfig cfg, const DataParallel* dp = nullptr);

  // One rollout batch and its μ epochs of updates. Returns the step metrics
  // (reward_mean, reward_std, or_acc, pr_mean, format_error_rate, kl,
  // clip_frac, entropy, chain_len, dropped_groups, loss, grad_norm, lr,
  // tokens_per_s, rollout_s, update_s, chains_digest — a fingerprint of
  // the sampled token ids, equal across runs that sampled the same chains).
  std::map<std::string, double> step(const std::vector<GrpoPrompt>& prompts, const RewardFn& reward,
                                     uint64_t seed);

  // The same update on rollouts that arrived from rollout workers (`all`
  // covers every prompt; this rank takes its shard). `behaviour_from_rollout`:
  // the PPO ratio's denominator is the rollout log-probs (needed when the
  // chains came from older weights, max_staleness ≥ 1); otherwise it is
  // recomputed through the training path, as step() does. `rollout_s`: the
  // time spent waiting for the rollouts, for the metrics.
  std::map<std::string, double> step_with_rollouts(const std::vector<GrpoPrompt>& prompts, const RolloutBatch& all,
                                                   bool behaviour_from_rollout, double rollout_s);

  // The sampling step counter step() uses now (requests to rollout workers
  // carry it, so their chains equal in-process ones).
  uint64_t sample_step() const;

 private:
  struct Local;  // this rank's share of a step's rollouts
  std::map<std::string, double> update(const Local& l, std::chrono::steady_clock::time_point t0,
                                       double rollout_s);

  model::TransformerImpl& policy_;
  model::TransformerImpl* reference_;
  Learner& learner_;
  GrpoStageConfig cfg_;
  const DataParallel* dp_;
};

}  // namespace pgenrm::trainer
