#include "trainer/grpo_rewards.h"

#include <algorithm>
#include <numeric>

#include "chain/rewards.h"
#include "core/error.h"
#include "data/posterior.h"
#include "trainer/run_setup.h"

namespace pgenrm::trainer {

namespace {

std::vector<chain::UserCriterion> top_criteria(const Setup& s, const std::vector<double>& w) {
  std::vector<int> idx(w.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int a, int b) { return w[a] > w[b]; });
  std::vector<chain::UserCriterion> out;
  for (size_t k = 0; k < std::min<size_t>(3, idx.size()); ++k)
    out.push_back({s.world.criteria[idx[k]], w[idx[k]]});
  return out;
}

// Criteria for PR when the user states none: the top criteria of the
// posterior mean from the history (DESIGN.md §4: "synthesised from the history").
std::vector<chain::UserCriterion> synthesised_criteria(const Setup& s, const data::Pair& p,
                                                       const data::History& h) {
  data::User anon = s.ds.user_of(p);
  anon.stated.clear();
  const data::Evidence e = data::gather_evidence(s.world, anon, h, data::AttributeSource::kPerceived);
  const auto mass = s.posterior->mass(e);
  const int scen = p.scenario.empty() ? 0 : s.world.scenario_index(p.scenario);
  return top_criteria(s, s.posterior->mean_scenario_weights(mass, scen));
}

}  // namespace

std::vector<ChainReward> chain_rewards(const Setup& s, const RewardKnobs& k, const RmPrompt& p, uint64_t prompt_seed,
                                       const std::vector<std::vector<int64_t>>& completions,
                                       std::vector<std::vector<double>>* totals) {
  static const chain::RuleScorer pr_scorer;
  const data::Pair& pair = s.ds.pairs[p.pair];
  std::vector<chain::UserCriterion> crit;
  if (!k.curriculum && k.pr_truth) {
    PGENRM_CHECK(pair.truth.has_value(), "grpo.pr_target = truth needs PersonaWorld's ground truth",
                 "use grpo.pr_target: stated on real data");
    crit = top_criteria(s, pair.truth->weights);
  } else if (!k.curriculum) {
    // Real data has no posterior: a user without stated criteria gets no PR.
    crit = user_criteria(s.ds.user_of(pair), s.posterior ? synthesised_criteria(s, pair, s.task->history(p.pair, prompt_seed))
                                                         : std::vector<chain::UserCriterion>{});
  }
  std::vector<ChainReward> out;
  if (totals) totals->clear();
  for (const auto& c : completions) {
    ReadChain r = s.task->read(c, p.order);
    ChainReward cr;
    // A wrong stated total is not a format failure: the breakdown decides.
    cr.format_error = !r.scores.has_value();
    cr.outcome = r.scores ? chain::outcome_reward(*r.scores, 0, 1) : chain::kFormatErrorReward;
    // PR only for a chain that counts (chain/rewards.h: a failed chain
    // covers nothing), so invalid chains keep the −0.1 of the format error
    // instead of earning coverage credit.
    if (!k.curriculum && r.scores) {
      const auto& parsed = r.parsed.chain ? r.parsed.chain : r.parsed.breakdown;
      cr.process = pr_scorer.score(crit, parsed->criteria);
    }
    cr.reward = k.curriculum ? chain::curriculum_reward(cr.outcome, k.beta)
                             : chain::cre_reward(cr.process, cr.outcome, k.alpha, k.beta);
    out.push_back(cr);
    if (totals) totals->push_back(r.scores ? *r.scores : std::vector<double>{});
  }
  return out;
}

}  // namespace pgenrm::trainer
