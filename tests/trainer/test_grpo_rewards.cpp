// The GRPO rewards (trainer/grpo_rewards.h) on a small generated
// PersonaWorld: a teacher chain (it agrees with the label by construction)
// earns OR 1 and its PR; junk earns the format-error reward and no PR; the
// curriculum reward is β·OR; with grpo.pr_target = truth, PR measures the
// chain against the user's true top criteria — and differs from the stated /
// posterior target on some pairs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "chain/rewards.h"
#include "core/options.h"
#include "trainer/grpo_rewards.h"
#include "trainer/run_setup.h"

namespace pgenrm::trainer {
namespace {

namespace fs = std::filesystem;

TEST(GrpoRewards, OutcomeProcessFormatAndTheTruthTarget) {
  core::Config cfg;
  cfg.world.users = 200;
  cfg.data.posterior_particles = 16;
  cfg.data.dir = (fs::temp_directory_path() / ("pgenrm_rewards_" + std::to_string(::getpid()))).string();
  fs::remove_all(cfg.data.dir);
  ensure_world(cfg);
  auto s = load_setup(cfg);
  ASSERT_GT(s->teacher.size(), 20u);
  const chain::RuleScorer rule;
  int differ = 0, checked = 0;
  for (const auto& rec : s->teacher) {
    if (checked == 40) break;
    const size_t i = s->ds.pair_index(rec.pair_id);
    const RmPrompt p = s->task->prompt(i, data::PromptKind::kCre, /*seed=*/77);
    // The teacher's chain under this prompt's response order.
    RmPrompt as_written = p;
    as_written.order = rec.order;
    const std::vector<std::vector<int64_t>> comps = {s->task->target(rec.chain), {5, 6, 7, 8}};
    std::vector<std::vector<double>> totals;
    const RewardKnobs cre{false, 0.5, 1.0, false}, truth{false, 0.5, 1.0, true}, cur{true, 0.5, 1.0, false};
    const auto r = chain_rewards(*s, cre, as_written, 77, comps, &totals);
    const auto t = chain_rewards(*s, truth, as_written, 77, comps);
    const auto c = chain_rewards(*s, cur, as_written, 77, comps);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_FALSE(r[0].format_error) << rec.chain;
    EXPECT_EQ(r[0].outcome, 1.0) << "a teacher chain agrees with the label";
    EXPECT_EQ(totals[0].size(), 2u);
    EXPECT_GT(totals[0][0], totals[0][1]);
    EXPECT_DOUBLE_EQ(r[0].reward, chain::cre_reward(r[0].process, 1.0, 0.5, 1.0));
    EXPECT_TRUE(r[1].format_error);
    EXPECT_EQ(r[1].process, 0.0) << "no coverage credit for a chain that does not parse";
    EXPECT_DOUBLE_EQ(r[1].reward, chain::cre_reward(0.0, chain::kFormatErrorReward, 0.5, 1.0));
    EXPECT_TRUE(totals[1].empty());
    EXPECT_DOUBLE_EQ(c[0].reward, 1.0);
    EXPECT_EQ(c[0].process, 0.0) << "the curriculum reward has no PR";
    // Truth target: the chain's criteria against the true top 3.
    const auto& w = s->ds.pairs[i].truth->weights;
    std::vector<int> idx(w.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int a, int b) { return w[a] > w[b]; });
    std::vector<chain::UserCriterion> top;
    for (int k = 0; k < 3; ++k) top.push_back({s->world.criteria[idx[k]], w[idx[k]]});
    const ReadChain rc = s->task->read(comps[0], as_written.order);
    const auto& parsed = rc.parsed.chain ? rc.parsed.chain : rc.parsed.breakdown;
    ASSERT_TRUE(parsed);
    EXPECT_DOUBLE_EQ(t[0].process, rule.score(top, parsed->criteria));
    differ += std::abs(t[0].process - r[0].process) > 1e-9;
    ++checked;
  }
  EXPECT_GT(differ, 0) << "the truth target never differs from the stated/posterior one";
  fs::remove_all(cfg.data.dir);
}

}  // namespace
}  // namespace pgenrm::trainer
