// SFT and the shared learner step: schedule, batching, accumulation
// equivalence, skipping non-finite steps, and that SFT actually learns.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <set>

#include "core/error.h"
#include "model/transformer.h"
#include "trainer/bt.h"
#include "trainer/learner.h"
#include "trainer/sft.h"

using namespace pgenrm::trainer;
using pgenrm::model::ModelConfig;
using pgenrm::model::Transformer;

namespace {

ModelConfig tiny() {
  ModelConfig c;
  c.vocab_size = 24;
  c.d_model = 64;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.d_ff = 128;
  c.max_seq_len = 64;
  return c;
}

// Copy task: target = the prompt's tokens reversed (after a separator).
std::vector<SeqExample> copy_task(int n, uint64_t seed) {
  at::manual_seed(seed);
  std::vector<SeqExample> out;
  for (int i = 0; i < n; ++i) {
    int len = 3 + i % 4;
    at::Tensor t = at::randint(3, 24, {len}, at::kLong);
    SeqExample e;
    e.prompt.push_back(1);
    for (int j = 0; j < len; ++j) e.prompt.push_back(t[j].item<int64_t>());
    e.prompt.push_back(2);
    for (int j = len - 1; j >= 0; --j) e.target.push_back(t[j].item<int64_t>());
    out.push_back(e);
  }
  return out;
}

}  // namespace

TEST(Schedule, WarmupThenCosineToFloor) {
  ScheduleSpec s{1.0, 10, 110, 0.1};
  EXPECT_NEAR(lr_at(s, 0), 0.1, 1e-12);
  EXPECT_NEAR(lr_at(s, 9), 1.0, 1e-12);
  EXPECT_NEAR(lr_at(s, 10), 1.0, 1e-12);
  EXPECT_NEAR(lr_at(s, 60), 0.55, 1e-12);  // halfway: floor + (1 - floor)/2
  EXPECT_NEAR(lr_at(s, 110), 0.1, 1e-12);
  EXPECT_NEAR(lr_at(s, 500), 0.1, 1e-12);
}

TEST(Batch, CollateMasksTargetsOnly) {
  TokenBatch b = collate({{{1, 5, 6}, {7, 8}}, {{1, 9}, {4}}}, 0);
  ASSERT_EQ(b.ids_BT.size(1), 5);
  EXPECT_EQ(b.target_tokens, 3);
  // Row 0: predictions at 2 (→7) and 3 (→8); row 1: at 1 (→4).
  std::vector<float> want0 = {0, 0, 1, 1}, want1 = {0, 1, 0, 0};
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(b.target_mask[0][t].item<float>(), want0[t]);
    EXPECT_EQ(b.target_mask[1][t].item<float>(), want1[t]);
  }
  EXPECT_FALSE(b.keep_BT[1][3].item<bool>());
  EXPECT_THROW(collate({{{}, {1}}}, 0), pgenrm::Error);
}

TEST(Batch, BucketingCoversEveryExampleOnceAndIsSeeded) {
  auto ex = copy_task(50, 1);
  auto a = length_bucketed_batches(ex, 8, 3, 7);
  auto b = length_bucketed_batches(ex, 8, 3, 7);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, length_bucketed_batches(ex, 8, 3, 8));
  std::multiset<int64_t> seen;
  for (auto& batch : a) {
    EXPECT_LE(batch.size(), 8u);
    seen.insert(batch.begin(), batch.end());
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 50u);
}

TEST(Sft, LearnsACopyTask) {
  at::manual_seed(0);
  Transformer m(tiny());
  m->train();
  auto ex = copy_task(32, 2);
  ScheduleSpec s{3e-3, 10, 300, 0.1};
  Learner learner(m->parameters(), s, 0.0, 1.0);
  const double start = sft_eval_loss(*m, ex, 16, 0);
  for (int step = 0; step < 300; ++step) {
    TokenBatch b = collate(ex, 0);
    learner.step([&](int64_t) {
      at::Tensor loss = sft_loss_sum(*m, b) / static_cast<double>(b.target_tokens);
      loss.backward();
      return loss.item<double>();
    }, 1);
  }
  const double end = sft_eval_loss(*m, ex, 16, 0);
  EXPECT_GT(start, 2.5);
  EXPECT_LT(end, 0.1) << "SFT did not fit 32 examples (start " << start << ")";
}

TEST(Learner, GradientAccumulationEqualsOneBigBatch) {
  // Compares the gradients the step applies (Adam would amplify float
  // rounding in near-zero gradients, so parameters are the wrong witness).
  auto ex = copy_task(8, 3);
  auto run = [&](int n_micro) {
    at::manual_seed(5);
    Transformer m(tiny());
    Learner learner(m->parameters(), ScheduleSpec{0.0, 0, 10, 1.0}, 0.0, 0.0);
    int64_t total_tokens = collate(ex, 0).target_tokens;
    const size_t per = ex.size() / n_micro;
    StepStats s = learner.step([&](int64_t i) {
      std::vector<SeqExample> part(ex.begin() + i * per, ex.begin() + (i + 1) * per);
      at::Tensor loss = sft_loss_sum(*m, collate(part, 0)) / static_cast<double>(total_tokens);
      loss.backward();
      return loss.item<double>();
    }, n_micro);
    std::vector<at::Tensor> grads;
    for (auto& p : m->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(s, grads);
  };
  auto [big_s, big] = run(1);
  auto [acc_s, acc] = run(4);
  EXPECT_NEAR(big_s.loss, acc_s.loss, 1e-6);
  EXPECT_NEAR(big_s.grad_norm, acc_s.grad_norm, 1e-6 * big_s.grad_norm);
  for (size_t i = 0; i < big.size(); ++i)
    EXPECT_TRUE(at::allclose(big[i], acc[i], 1e-4, 1e-7))
        << "param " << i << " max diff " << (big[i] - acc[i]).abs().max().item<double>();
}

TEST(Learner, NonFiniteGradientSkipsTheUpdate) {
  at::Tensor w = at::ones({3}).requires_grad_(true);
  Learner learner({w}, ScheduleSpec{0.1, 0, 10, 1.0}, 0.0, 1.0);
  StepStats s = learner.step([&](int64_t) {
    at::Tensor loss = (w * std::numeric_limits<float>::infinity()).sum();
    loss.backward();
    return loss.item<double>();
  }, 1);
  EXPECT_TRUE(s.skipped);
  EXPECT_TRUE(at::equal(w.detach(), at::ones({3})));
  EXPECT_EQ(learner.steps_done(), 1);
}

TEST(BradleyTerry, LearnsAPreferenceAndGeneralises) {
  // Preferred responses contain more of token 5; the model must learn to
  // rank held-out pairs it never saw.
  auto make_pairs = [](int n, uint64_t seed) {
    at::manual_seed(seed);
    std::vector<SeqExample> chosen, rejected;
    for (int i = 0; i < n; ++i) {
      at::Tensor base = at::randint(6, 24, {6}, at::kLong);
      std::vector<int64_t> prompt = {1, base[0].item<int64_t>(), 2};
      std::vector<int64_t> a(base.data_ptr<int64_t>() + 1, base.data_ptr<int64_t>() + 6), b = a;
      a[i % 5] = 5;
      a[(i + 2) % 5] = 5;
      chosen.push_back({prompt, a});
      rejected.push_back({prompt, b});
    }
    return std::make_pair(chosen, rejected);
  };
  at::manual_seed(0);
  BtModel bt{Transformer(tiny())};
  auto [tc, tr] = make_pairs(64, 1);
  auto [hc, hr] = make_pairs(64, 2);
  Learner learner(bt->parameters(), ScheduleSpec{3e-3, 5, 80, 0.1}, 0.0, 1.0);
  TokenBatch bc = collate(tc, 0), br = collate(tr, 0);
  for (int step = 0; step < 80; ++step) {
    learner.step([&](int64_t) {
      at::Tensor loss = bt_loss(*bt, bc, br);
      loss.backward();
      return loss.item<double>();
    }, 1);
  }
  double acc = 0;
  {
    at::NoGradGuard ng;
    bt_loss(*bt, collate(hc, 0), collate(hr, 0), &acc);
  }
  EXPECT_GT(acc, 0.9) << "held-out pairwise accuracy";
}
