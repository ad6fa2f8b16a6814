// The learner's fp32 master weights for low-precision parameters (issue 10:
// bf16 weights with fp32 master weights and optimizer state). Runs on the
// CPU (bf16 tensors work there too).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <torch/optim/adamw.h>

#include <tuple>

#include "trainer/learner.h"

using namespace pgenrm::trainer;

TEST(Learner, Bf16ParametersKeepUpdatesSmallerThanTheirUlpThroughFp32Masters) {
  // AdamW moves each weight by ≈ lr per step; at 1.0 a bf16 ulp is 2^-7 ≈
  // 0.0078, so 1e-3 steps taken in bf16 round back to 1.0 and are lost.
  auto run = [](bool bf16) {
    at::Tensor p = at::ones({4}, bf16 ? at::kBFloat16 : at::kFloat).requires_grad_(true);
    Learner l({p}, ScheduleSpec{1e-3, 0, 100, 1.0}, 0.0, 0.0);
    EXPECT_EQ(l.has_master_weights(), bf16);
    for (int s = 0; s < 20; ++s)
      l.step([&](int64_t) {
        at::Tensor loss = (p.to(at::kFloat) * 0.5).sum();  // gradient 0.5 everywhere
        loss.backward();
        return loss.item<double>();
      }, 1);
    return std::make_pair(p, l.optimizer_targets({{"p", p}}).at("p"));
  };
  auto [p32, t32] = run(false);
  auto [p16, t16] = run(true);
  EXPECT_EQ(p16.scalar_type(), at::kBFloat16) << "the parameters stay bf16";
  EXPECT_EQ(t16.scalar_type(), at::kFloat) << "the optimizer updates fp32 masters";
  EXPECT_TRUE(t32.is_same(p32)) << "fp32 parameters are their own optimizer targets";
  // 20 steps of ≈ 1e-3: the masters follow the fp32 run; the bf16 weights are
  // the masters rounded (≈ 0.98, not the 1.0 plain bf16 updates would leave).
  EXPECT_LT((t16 - p32.detach()).abs().max().item<double>(), 1e-4);
  EXPECT_LT(p16.to(at::kFloat).max().item<double>(), 0.99);
  EXPECT_TRUE(p16.detach().equal(t16.detach().to(at::kBFloat16)));
  EXPECT_GT(p32.max().item<double>(), 0.97);
}

TEST(Learner, FusedAdamWEqualsTheLoopAndKeepsItsState) {
  // Weight decay on a matrix, none on a vector (the two groups), 3 steps.
  auto run = [](bool fused) {
    at::manual_seed(5);
    at::Tensor w = at::randn({6, 5}).requires_grad_(true), b = at::randn({5}).requires_grad_(true);
    at::Tensor x = at::randn({8, 6});
    Learner l({w, b}, ScheduleSpec{1e-2, 0, 10, 1.0}, 0.1, 0.0);
    l.set_fused(fused);
    for (int s = 0; s < 3; ++s)
      l.step([&](int64_t) {
        at::Tensor loss = (at::matmul(x, w) + b).tanh().square().mean();
        loss.backward();
        return loss.item<double>();
      }, 1);
    const auto& st = static_cast<torch::optim::AdamWParamState&>(*l.optimizer().state().at(w.unsafeGetTensorImpl()));
    return std::make_tuple(w.detach().clone(), b.detach().clone(), st.step(), st.exp_avg_sq().clone());
  };
  auto [w0, b0, s0, v0] = run(false);
  auto [w1, b1, s1, v1] = run(true);
  EXPECT_LT((w0 - w1).abs().max().item<double>(), 1e-6);
  EXPECT_LT((b0 - b1).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(s0, 3);
  EXPECT_EQ(s1, 3) << "the fused step keeps torch's AdamW step count (checkpoints rely on it)";
  EXPECT_LT((v0 - v1).abs().max().item<double>(), 1e-9);
  EXPECT_GT(v0.abs().max().item<double>(), 0.0) << "the optimizer state was never updated";
}
