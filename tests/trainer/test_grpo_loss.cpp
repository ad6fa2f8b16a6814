// GRPO math: against TRL's own loss code on the same tensors, against hand
// computations on tiny tensors, and one real step on a tiny model.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/optim/sgd.h>

#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "core/error.h"
#include "model/generate.h"
#include "model/safetensors.h"
#include "trainer/grpo_loss.h"
#include "trainer/grpo_stage.h"

using namespace pgenrm::trainer;
namespace fs = std::filesystem;

namespace {

struct Batch {
  at::Tensor logp, old_logp, ref_logp, adv, mask;
};

Batch random_batch(int64_t n, int64_t t, uint64_t seed) {
  at::manual_seed(seed);
  Batch b;
  b.logp = -at::rand({n, t}) * 2;
  b.old_logp = b.logp + 0.3 * at::randn({n, t});  // ratios on both sides of the clip range
  b.ref_logp = b.logp + 0.2 * at::randn({n, t});
  b.mask = (at::rand({n, t}) > 0.3).to(at::kFloat);
  b.mask.select(1, 0).fill_(1);  // no empty sequence
  b.adv = at::randn({n});
  return b;
}

// A one-layer decoder small enough for a step-by-step test.
pgenrm::model::ModelConfig one_layer_config(int64_t vocab) {
  pgenrm::model::ModelConfig c;
  c.vocab_size = vocab;
  c.d_model = 32;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 16;
  c.d_ff = 64;
  c.max_seq_len = 32;
  return c;
}

// The chains GrpoStage::step samples for `prompts` with `cfg` and `seed`,
// as a rollout worker would return them.
pgenrm::model::Generation sample_chains(pgenrm::model::Transformer policy, const std::vector<GrpoPrompt>& prompts,
                                        const GrpoStageConfig& cfg, uint64_t seed) {
  std::vector<std::vector<int64_t>> ids;
  for (const auto& p : prompts) ids.push_back(p.ids);
  pgenrm::model::SampleParams sp = cfg.sample;
  sp.seed = seed;
  return pgenrm::model::generate(*policy, ids, cfg.group_size, sp);
}

}  // namespace

struct TrlCase {
  std::string agg, trl_type;
  double beta, eps_high;
};

class AgainstTrl : public ::testing::TestWithParam<TrlCase> {};
INSTANTIATE_TEST_SUITE_P(
    Grpo, AgainstTrl,
    ::testing::Values(TrlCase{"seq_mean", "grpo", 0.0, 0.2}, TrlCase{"seq_mean", "grpo", 0.04, 0.28},
                      TrlCase{"token_mean", "bnpo", 0.0, 0.28},
                      TrlCase{"token_mean", "bnpo", 0.04, 0.2},
                      TrlCase{"token_mean", "dapo", 0.1, 0.28}));

TEST_P(AgainstTrl, LossAndGradientMatchTrl) {
  const TrlCase c = GetParam();
  Batch b = random_batch(8, 7, 42);
  auto dir = fs::temp_directory_path() / ("pgenrm_grpo_" + std::to_string(getpid()));
  fs::create_directories(dir);
  pgenrm::model::save_safetensors((dir / "in.safetensors").string(),
                                  {{"logp", b.logp}, {"old_logp", b.old_logp},
                                   {"ref_logp", b.ref_logp}, {"adv", b.adv}, {"mask", b.mask}});
  std::string cmd = std::string(PGENRM_PYTHON) + " " PGENRM_SOURCE_DIR "/tools/ref_grpo_loss.py " +
                    (dir / "in.safetensors").string() + " " + (dir / "out.safetensors").string() +
                    " " + c.trl_type + " " + std::to_string(c.beta) + " 0.2 " +
                    std::to_string(c.eps_high) + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto ref = pgenrm::model::SafetensorsFile::open((dir / "out.safetensors").string());

  GrpoKnobs k;
  k.agg = c.agg;
  k.kl_coef = c.beta;
  k.clip_low = 0.2;
  k.clip_high = c.eps_high;
  at::Tensor logp = b.logp.clone().requires_grad_(true);
  GrpoLoss out = grpo_loss(logp, b.old_logp, b.ref_logp, b.adv, b.mask, k);
  out.loss.backward();
  EXPECT_NEAR(out.loss.item<double>(), ref.get("loss").item<double>(), 1e-6);
  EXPECT_TRUE(at::allclose(logp.grad(), ref.get("grad"), 1e-6, 1e-7))
      << "max grad diff " << (logp.grad() - ref.get("grad")).abs().max().item<double>();
  fs::remove_all(dir);
}

TEST(GrpoLoss, ClipKlAndAggregationsByHand) {
  // Two sequences; the second has one padded token.
  at::Tensor logp = at::log(at::tensor({0.5, 0.5, 0.5, 0.5}, at::kDouble)).view({2, 2});
  at::Tensor old = at::log(at::tensor({0.25, 0.5, 0.5, 0.9}, at::kDouble)).view({2, 2});
  at::Tensor ref = at::log(at::tensor({0.5, 0.25, 0.5, 0.5}, at::kDouble)).view({2, 2});
  at::Tensor mask = at::tensor({1.0, 1.0, 1.0, 0.0}, at::kDouble).view({2, 2});
  at::Tensor adv = at::tensor({1.0, -2.0}, at::kDouble);
  GrpoKnobs k;
  k.clip_low = 0.2;
  k.clip_high = 0.28;
  // ratios: 2.0 (clipped to 1.28, adv>0 → -1.28), 1.0 (-1), 1.0 (+2), pad.
  k.agg = "token_mean";
  GrpoLoss tm = grpo_loss(logp, old, at::Tensor(), adv, mask, k);
  EXPECT_NEAR(tm.loss.item<double>(), (-1.28 - 1.0 + 2.0) / 3, 1e-12);
  EXPECT_NEAR(tm.clip_frac, 1.0 / 3, 1e-12);
  k.agg = "seq_mean";
  GrpoLoss sm = grpo_loss(logp, old, at::Tensor(), adv, mask, k);
  EXPECT_NEAR(sm.loss.item<double>(), ((-1.28 - 1.0) / 2 + 2.0 / 1) / 2, 1e-12);
  // k3 with ref: token 2 has ref/pi = 0.5: 0.5 - ln 0.5 - 1.
  k.agg = "token_mean";
  k.kl_coef = 0.1;
  GrpoLoss kl = grpo_loss(logp, old, ref, adv, mask, k);
  const double k3 = 0.5 - std::log(0.5) - 1.0;
  EXPECT_NEAR(kl.kl, k3 / 3, 1e-12);
  EXPECT_NEAR(kl.loss.item<double>(), (-1.28 - 1.0 + 2.0 + 0.1 * k3) / 3, 1e-12);
  // Negative advantage below the floor: ratio 0.5 clipped to 0.8 → loss -(-1·0.8)... min picks the
  // pessimistic (larger) loss: max(0.5, 0.8)·1 = 0.8.
  at::Tensor l2 = at::log(at::tensor({0.5}, at::kDouble)).view({1, 1});
  at::Tensor o2 = at::zeros({1, 1}, at::kDouble);
  GrpoLoss neg = grpo_loss(l2, o2, at::Tensor(), at::tensor({-1.0}, at::kDouble),
                           at::ones({1, 1}, at::kDouble), k = GrpoKnobs{});
  EXPECT_NEAR(neg.loss.item<double>(), 0.8, 1e-12);
  EXPECT_NEAR(neg.clip_frac, 1.0, 1e-12);
}

TEST(GrpoAdvantages, RelativeWithinGroupAndZeroVarianceDropped) {
  GrpoKnobs k;
  at::Tensor r = at::tensor({1.0f, 0.0f, 1.0f, 0.0f, 0.5f, 0.5f, 0.5f, 0.5f});
  Advantages a = group_advantages(r, 4, k);
  const double sd = std::sqrt(1.0 / 3.0);  // unbiased std of {1,0,1,0}
  EXPECT_NEAR(a.adv_N[0].item<double>(), 0.5 / (sd + 1e-4), 1e-5);
  EXPECT_NEAR(a.adv_N[1].item<double>(), -0.5 / (sd + 1e-4), 1e-5);
  for (int i = 4; i < 8; ++i) {
    EXPECT_EQ(a.adv_N[i].item<double>(), 0.0);
    EXPECT_FALSE(a.keep_N[i].item<bool>());
  }
  EXPECT_TRUE(a.keep_N[0].item<bool>());
  EXPECT_EQ(a.dropped_groups, 1);
  k.std_norm = false;
  k.drop_zero_var = false;
  Advantages m = group_advantages(r, 4, k);
  EXPECT_NEAR(m.adv_N[0].item<double>(), 0.5, 1e-6);
  EXPECT_TRUE(m.keep_N[5].item<bool>());
  EXPECT_EQ(m.dropped_groups, 1);  // still counted
  EXPECT_THROW(group_advantages(r, 3, k), pgenrm::Error);
}

TEST(GrpoStep, RaisesTheBetterChainAndLowersTheWorse) {
  using namespace pgenrm::model;
  ModelConfig c = one_layer_config(32);
  at::manual_seed(3);
  Transformer m(c);
  // One prompt, two chains: [prompt | completion].
  at::Tensor ids = at::tensor({1, 2, 3, 4, 5, 6, 1, 2, 3, 9, 8, 7}, at::kLong).view({2, 6});
  at::Tensor keep = at::ones_like(ids, at::kBool);
  at::Tensor mask = at::zeros({2, 5});
  mask.narrow(1, 2, 3).fill_(1);  // completion tokens only
  auto seq_logp = [&] {
    at::NoGradGuard ng;
    return (sequence_logprobs(*m, ids, keep) * mask).sum(1);
  };
  at::Tensor before = seq_logp();
  GrpoKnobs k;
  Advantages a = group_advantages(at::tensor({1.0f, 0.0f}), 2, k);
  torch::optim::SGD opt(m->parameters(), torch::optim::SGDOptions(0.05));
  at::Tensor logp = sequence_logprobs(*m, ids, keep);
  GrpoLoss l = grpo_loss(logp, logp.detach(), at::Tensor(), a.adv_N, mask, k);
  l.loss.backward();
  opt.step();
  at::Tensor after = seq_logp();
  EXPECT_GT(after[0].item<double>(), before[0].item<double>()) << "higher-reward chain";
  EXPECT_LT(after[1].item<double>(), before[1].item<double>()) << "lower-reward chain";
}

TEST(GrpoStage, RaisesTheRewardOfASimpleTask) {
  // Reward: share of generated tokens equal to 7. GRPO must raise it.
  using namespace pgenrm::model;
  ModelConfig c = one_layer_config(16);
  at::manual_seed(1);
  Transformer policy(c);
  Learner learner(policy->parameters(), ScheduleSpec{1e-2, 0, 100, 1.0}, 0.0, 1.0);
  GrpoStageConfig cfg;
  cfg.group_size = 8;
  cfg.sample.max_new_tokens = 6;
  cfg.micro_batch = 12;
  GrpoStage stage(*policy, nullptr, learner, cfg);
  std::vector<GrpoPrompt> prompts = {{0, {1, 2}}, {1, {3, 4}}, {2, {5, 6, 8}}, {3, {9}}};
  RewardFn reward = [](int64_t, const std::vector<std::vector<int64_t>>& comps) {
    std::vector<ChainReward> out;
    for (const auto& t : comps) {
      ChainReward r;
      r.reward = std::count(t.begin(), t.end(), 7) / static_cast<double>(t.size());
      r.outcome = r.reward;
      out.push_back(r);
    }
    return out;
  };
  double first = 0, last = 0;
  for (int step = 0; step < 25; ++step) {
    auto m = stage.step(prompts, reward, /*seed=*/step);
    if (step == 0) first = m["reward_mean"];
    last = m["reward_mean"];
    EXPECT_GE(m["clip_frac"], 0.0);
  }
  EXPECT_LT(first, 0.2);
  EXPECT_GT(last, first + 0.3) << "GRPO did not raise the reward";
}

// The update on rollouts from elsewhere (rollout workers) equals the
// in-process step when the chains are the same: with the ratio's
// denominator recomputed (on-policy), exactly; with the rollout log-probs
// placed at the target positions (one step off), up to float rounding. A
// misplaced or missing log-prob changes the ratio and hence the update.
TEST(GrpoStage, UpdateOnWorkerRolloutsEqualsTheInProcessStep) {
  using namespace pgenrm::model;
  ModelConfig c = one_layer_config(16);
  auto reward = [](int64_t, const std::vector<std::vector<int64_t>>& comps) {
    std::vector<ChainReward> out;
    for (const auto& t : comps) {
      ChainReward r;
      r.reward = std::count(t.begin(), t.end(), 7) + 0.1 * static_cast<double>(t.size());
      out.push_back(r);
    }
    return out;
  };
  const std::vector<GrpoPrompt> prompts = {{0, {1, 2}}, {1, {3, 4, 5}}, {2, {9}}};
  GrpoStageConfig cfg;
  cfg.group_size = 4;
  cfg.sample.max_new_tokens = 5;
  cfg.micro_batch = 5;
  cfg.knobs.clip_low = cfg.knobs.clip_high = 0.05;  // tight: the ratio matters
  cfg.ppo_epochs = 2;
  auto fresh = [&] {
    at::manual_seed(3);
    return Transformer(c);
  };
  // In process.
  Transformer a = fresh();
  Learner la(a->parameters(), ScheduleSpec{5e-2, 0, 10, 1.0}, 0.0, 1.0);
  GrpoStage sa(*a, nullptr, la, cfg);
  sa.step(prompts, reward, /*seed=*/11);
  // The same chains as a worker would return them.
  const Generation g = sample_chains(fresh(), prompts, cfg, /*seed=*/11);
  RolloutBatch rb;
  rb.tokens = g.tokens;
  rb.logprobs = g.logprobs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::vector<int64_t>> grp(g.tokens.begin() + i * 4, g.tokens.begin() + (i + 1) * 4);
    auto r = reward(0, grp);
    rb.rewards.insert(rb.rewards.end(), r.begin(), r.end());
  }
  // Largest parameter difference to the in-process step after one update on `batch`.
  auto diff_after = [&](const RolloutBatch& batch, bool from_rollout) {
    Transformer b = fresh();
    Learner lb(b->parameters(), ScheduleSpec{5e-2, 0, 10, 1.0}, 0.0, 1.0);
    GrpoStage sb(*b, nullptr, lb, cfg);
    sb.step_with_rollouts(prompts, batch, from_rollout, 0.0);
    double worst = 0;
    for (size_t k = 0; k < a->parameters().size(); ++k)
      worst = std::max(worst, (a->parameters()[k] - b->parameters()[k]).abs().max().item<double>());
    return worst;
  };
  EXPECT_EQ(diff_after(rb, false), 0.0) << "on-policy update differs from the in-process step";
  EXPECT_LT(diff_after(rb, true), 1e-5) << "rollout log-probs misplaced";
  // Log-probs shifted by one position: the update must differ.
  RolloutBatch bad = rb;
  for (auto& v : bad.logprobs) std::rotate(v.begin(), v.begin() + 1, v.end());
  EXPECT_GT(diff_after(bad, true), 1e-4) << "the update ignores the rollout log-probs";
}

// grpo.score_decoding = greedy: the tokens after the marker were written
// greedily, so they are context, not actions. The update on whole chains
// then equals the update on the same chains cut right after the marker
// (causal attention: later tokens cannot change earlier log-probs), and the
// logged trained-token share is the sampled prefixes' share. A trainer that
// still trained on the greedy tail would update differently.
TEST(GrpoStage, TokensAfterTheGreedyMarkerAreContextNotActions) {
  using namespace pgenrm::model;
  ModelConfig c = one_layer_config(16);
  const std::vector<GrpoPrompt> prompts = {{0, {1, 2}}, {1, {3, 4, 5}}, {2, {9}}};
  GrpoStageConfig cfg;
  cfg.group_size = 4;
  cfg.sample.max_new_tokens = 10;
  cfg.micro_batch = 5;
  cfg.sample.decode_fn = [](const std::vector<int64_t>& ids) {  // token t renders as "<t>"
    std::string s;
    for (auto t : ids) s += "<" + std::to_string(t) + ">";
    return s;
  };
  auto fresh = [&] {
    at::manual_seed(3);
    return Transformer(c);
  };
  const Generation g = sample_chains(fresh(), prompts, cfg, /*seed=*/11);
  // The marker: a token that occurs early in some chains and not in others.
  const int64_t marker = g.tokens[0][1];
  cfg.sample.greedy_after = {"<" + std::to_string(marker) + ">"};
  RolloutBatch whole, cut;
  double prefix = 0, total = 0;
  int with_marker = 0;
  for (size_t s = 0; s < g.tokens.size(); ++s) {
    const auto& t = g.tokens[s];
    const int64_t n = sampled_prefix_length(t, cfg.sample);
    with_marker += n < static_cast<int64_t>(t.size());
    prefix += static_cast<double>(n);
    total += static_cast<double>(t.size());
    ChainReward r;
    r.reward = static_cast<double>((s * 7) % 5);  // varies within every group
    whole.tokens.push_back(t);
    cut.tokens.push_back(std::vector<int64_t>(t.begin(), t.begin() + n));
    whole.rewards.push_back(r);
    cut.rewards.push_back(r);
    whole.logprobs.push_back(std::vector<float>(t.size(), 0.f));
    cut.logprobs.push_back(std::vector<float>(static_cast<size_t>(n), 0.f));
  }
  ASSERT_GE(with_marker, 2) << "the test needs chains with the marker";
  auto update = [&](const RolloutBatch& batch, std::map<std::string, double>* metrics) {
    Transformer b = fresh();
    Learner lb(b->parameters(), ScheduleSpec{5e-2, 0, 10, 1.0}, 0.0, 1.0);
    GrpoStage sb(*b, nullptr, lb, cfg);
    *metrics = sb.step_with_rollouts(prompts, batch, /*behaviour_from_rollout=*/false, 0.0);
    return b;
  };
  std::map<std::string, double> mw, mc;
  Transformer a = update(whole, &mw), b = update(cut, &mc);
  double worst = 0;
  for (size_t k = 0; k < a->parameters().size(); ++k)
    worst = std::max(worst, (a->parameters()[k] - b->parameters()[k]).abs().max().item<double>());
  EXPECT_LT(worst, 1e-6) << "the greedy tail changed the update";
  EXPECT_NEAR(mw["trained_token_share"], prefix / total, 1e-9);
  EXPECT_LT(mw["trained_token_share"], 1.0);
  EXPECT_DOUBLE_EQ(mc["trained_token_share"], 1.0);
  // Without the marker the whole chains are trained on: a different update.
  cfg.sample.greedy_after.clear();
  std::map<std::string, double> mf;
  Transformer f = update(whole, &mf);
  double moved = 0;
  for (size_t k = 0; k < a->parameters().size(); ++k)
    moved = std::max(moved, (a->parameters()[k] - f->parameters()[k]).abs().max().item<double>());
  EXPECT_GT(moved, 1e-5);
}
