// comm/ in one process: the single-process backend's semantics, World
// without a launcher, checksums and their corruption detection, the
// watchdog's message and deadline (throwing mode), and the gradient
// bucketer's hooks (that they fire during backward and launch every bucket).
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/generated/variable_factories.h>

#include <chrono>

#include "comm/grad_sync.h"
#include "comm/watchdog.h"
#include "comm/weight_sync.h"
#include "comm/world.h"
#include "core/error.h"

namespace pgenrm::comm {
namespace {

TEST(SingleBackend, ReductionsAreIdentitiesAndGathersCopy) {
  auto c = make_single_collectives("learners");
  EXPECT_EQ(c->rank(), 0);
  EXPECT_EQ(c->size(), 1);
  at::Tensor t = at::arange(6, at::kFloat).reshape({2, 3});
  const at::Tensor before = t.clone();
  c->all_reduce(t, ReduceOp::kAvg);
  EXPECT_TRUE(t.equal(before));
  c->all_reduce_async(t, ReduceOp::kSum)->wait();
  EXPECT_TRUE(t.equal(before));
  c->broadcast(t, 0);
  EXPECT_TRUE(t.equal(before));
  at::Tensor g = c->all_gather(t);
  EXPECT_TRUE(g.equal(before));
  g.add_(1);  // a copy, not an alias
  EXPECT_TRUE(t.equal(before));
  EXPECT_EQ(c->all_gather(at::scalar_tensor(3.0)).sizes(), at::IntArrayRef({1}));
  EXPECT_TRUE(c->reduce_scatter(t, ReduceOp::kSum).equal(before));
  EXPECT_DOUBLE_EQ(c->all_reduce_scalar(2.5, ReduceOp::kSum), 2.5);
  c->barrier();
}

TEST(SingleBackend, RejectsWhatAnyBackendWouldReject) {
  auto c = make_single_collectives();
  at::Tensor i = at::ones({3}, at::kLong);
  EXPECT_THROW(c->all_reduce(i, ReduceOp::kAvg), Error);
  EXPECT_THROW(c->broadcast(i, 1), Error);
  EXPECT_THROW(c->reduce_scatter(at::scalar_tensor(1.0), ReduceOp::kSum), Error);
}

TEST(World, WithoutALauncherIsOneProcessWithNoMpi) {
  ASSERT_FALSE(World::launched_by_mpi()) << "run this test outside mpirun";
  WorldOptions o;
  o.layout = {2, 2};  // collapses to one learner
  World w(o);
  EXPECT_FALSE(w.distributed());
  EXPECT_EQ(w.size(), 1);
  EXPECT_TRUE(w.is_learner());
  EXPECT_EQ(w.learners().backend(), "single");
  EXPECT_EQ(w.weight_sync().size(), 1);
}

TEST(Checksum, DetectsAnyFlippedByteAndDependsOnOrder) {
  at::Tensor a = at::randn({1000}, at::kFloat);
  at::Tensor b = a.clone();
  const uint64_t ha = checksum_tensors({a});
  EXPECT_EQ(ha, checksum_tensors({b}));
  auto* bytes = static_cast<unsigned char*>(b.data_ptr());
  for (int pos : {0, 1, 31, 32, 33, 2000, 3999}) {
    bytes[pos] ^= 0x10;
    EXPECT_NE(checksum_tensors({b}), ha) << "flip at byte " << pos;
    bytes[pos] ^= 0x10;
  }
  at::Tensor x = at::ones({4}), y = at::zeros({4});
  EXPECT_NE(checksum_tensors({x, y}), checksum_tensors({y, x}));
  EXPECT_NE(layout_fingerprint({x}), layout_fingerprint({x.reshape({2, 2})}));
  EXPECT_NE(layout_fingerprint({x}), layout_fingerprint({x.to(at::kDouble)}));
  // Lengths 0..40 exercise every tail path of the hash.
  std::string s(40, 'a');
  for (size_t n = 1; n < s.size(); ++n)
    EXPECT_NE(checksum_bytes(s.data(), n), checksum_bytes(s.data(), n - 1)) << n;
}

TEST(WeightSync, SingleRankKeepsWeightsAndRecordsTheVersion) {
  auto c = make_single_collectives("weight_sync");
  WeightSync ws(*c);
  at::Tensor w = at::randn({3, 4});
  const at::Tensor before = w.clone();
  EXPECT_EQ(ws.sync({w}, 7), 7);
  EXPECT_EQ(ws.version(), 7);
  EXPECT_TRUE(w.equal(before));
  EXPECT_EQ(ws.last_header().checksum, checksum_tensors({before}));
}

TEST(Watchdog, ThrowsNamingRankOperationAndGroupWithinTheTimeout) {
  Watchdog wd({/*timeout_s=*/0.3, HangAction::kThrow}, /*world_rank=*/4);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    wd.wait([] { return false; }, "all_reduce", "learners", "grads bucket 3");
    FAIL() << "a never-completing wait returned";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("rank 4: all_reduce(grads bucket 3) on 'learners' did not complete within "
                     "0.3 s; a peer has probably died"),
              std::string::npos)
        << m;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 0.3);
  EXPECT_LT(s, 5.0);
  int polls = 0;
  wd.wait([&] { return ++polls == 3; }, "barrier", "world", "");  // completes: no throw
  EXPECT_EQ(polls, 3);
}

TEST(GradBucketer, HooksLaunchEveryBucketDuringTheArmedBackwardOnly) {
  auto c = make_single_collectives("learners");
  std::vector<at::Tensor> params;
  for (int i = 0; i < 5; ++i) params.push_back(torch::randn({64, 64}).requires_grad_(true));
  // 16 KiB per parameter, 20 KiB buckets: one parameter per bucket.
  GradBucketer b(*c, params, {/*bucket_mb=*/20.0 / 1024, ReduceOp::kAvg});
  EXPECT_EQ(b.n_buckets(), 5);
  auto loss = [&] {
    at::Tensor s = at::zeros({});
    for (auto& p : params) s = s + p.pow(2).sum();
    return s;
  };
  loss().backward();  // unarmed: accumulation of a non-final micro-batch
  EXPECT_EQ(b.launched_in_backward(), 0);
  b.arm();
  loss().backward();
  EXPECT_EQ(b.launched_in_backward(), 5);
  b.finish();
  for (auto& p : params) EXPECT_TRUE(p.grad().allclose(4 * p.detach()));  // 2 backwards of 2p
}

TEST(GradBucketer, UnusedParametersGetZeroGradients) {
  auto c = make_single_collectives("learners");
  std::vector<at::Tensor> params{torch::ones({4}).requires_grad_(true),
                                 torch::ones({4}).requires_grad_(true)};
  GradBucketer b(*c, params, {1.0, ReduceOp::kSum});
  b.arm();
  params[0].sum().backward();
  b.finish();
  ASSERT_TRUE(params[1].grad().defined());
  EXPECT_EQ(params[1].grad().abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(params[0].grad().equal(at::ones({4})));
}

}  // namespace
}  // namespace pgenrm::comm
