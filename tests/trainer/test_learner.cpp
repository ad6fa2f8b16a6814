// The learner's fp32 master weights for low-precision parameters (issue 10:
// bf16 weights with fp32 master weights and optimizer state). Runs on the
// CPU (bf16 tensors work there too).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

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
