// The rewards of the GRPO stages on one prompt's chains, shared by the
// learners (rollouts in-process) and the rollout workers (rollout/):
//   CRE         R = α·PR + β·OR, PR against the user's stated criteria or,
//               when none, criteria synthesised from the history's posterior
//               (PersonaWorld; on real data such a user gets no PR), or with
//               grpo.pr_target = truth the user's true top criteria
//   curriculum  R = β·OR
// A chain that does not parse gets the format-error reward and no PR.
#pragma once

#include <cstdint>
#include <vector>

#include "trainer/grpo_stage.h"
#include "trainer/rm_task.h"

namespace pgenrm::trainer {

struct Setup;

struct RewardKnobs {
  bool curriculum = false;
  double alpha = 0.5, beta = 1.0;
  bool pr_truth = false;  // PR against the user's true top criteria (grpo.pr_target: truth)
};

// `totals` (optional): each chain's weighted totals in original order
// {chosen, rejected}, empty where the chain did not parse.
std::vector<ChainReward> chain_rewards(const Setup& s, const RewardKnobs& k, const RmPrompt& p, uint64_t prompt_seed,
                                       const std::vector<std::vector<int64_t>>& completions,
                                       std::vector<std::vector<double>>* totals = nullptr);

}  // namespace pgenrm::trainer
