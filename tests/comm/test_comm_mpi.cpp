// comm/ under mpirun (ctest runs it with 2 ranks, and with 3 ranks as
// 2 learners + 1 rollout): collective values against hand-computed ones
// for several dtypes and layouts, the role layout and sub-communicators,
// weight sync with version + checksum (and a corrupted transfer caught),
// and the equivalence of 2 learners at batch B/2 with 1 learner at batch B
// through the bucketed, backward-overlapping gradient all-reduce.
//
// Every rank runs every test in the same order (collectives must match);
// a test that does not apply to a rank's role skips without communicating.
// The exit status is the maximum over ranks, so any rank's failure fails.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <mpi.h>
#include <torch/cuda.h>
#include <torch/optim/adamw.h>

#include <cstring>

#include "comm/grad_sync.h"
#include "comm/weight_sync.h"
#include "comm/world.h"
#include "core/error.h"
#include "model/transformer.h"

namespace pgenrm::comm {
namespace {

World* g_world = nullptr;

Collectives& world() { return g_world->world(); }

TEST(Collectives, AllReduceSumAvgMaxMinOverDtypes) {
  const int r = world().rank(), W = world().size();
  const double sum = W * (W + 1) / 2.0;
  for (auto dt : {at::kFloat, at::kDouble, at::kLong, at::kInt, at::kBFloat16, at::kHalf}) {
    at::Tensor t = at::full({5}, r + 1, dt);
    world().all_reduce(t, ReduceOp::kSum, "test sum");
    EXPECT_EQ(t.scalar_type(), dt);
    EXPECT_TRUE(t.to(at::kDouble).eq(sum).all().item<bool>()) << c10::toString(dt) << t;
    t = at::full({5}, r + 1, dt);
    world().all_reduce(t, ReduceOp::kMax);
    EXPECT_TRUE(t.to(at::kDouble).eq(W).all().item<bool>()) << c10::toString(dt);
    t = at::full({5}, r + 1, dt);
    world().all_reduce(t, ReduceOp::kMin);
    EXPECT_TRUE(t.to(at::kDouble).eq(1).all().item<bool>()) << c10::toString(dt);
  }
  at::Tensor f = at::full({3}, 2.0 * (r + 1), at::kFloat);
  world().all_reduce(f, ReduceOp::kAvg);
  EXPECT_TRUE(f.allclose(at::full({3}, W + 1.0)));
  EXPECT_DOUBLE_EQ(world().all_reduce_scalar(r + 0.5, ReduceOp::kSum), sum - W / 2.0);
}

TEST(Collectives, NonContiguousTensorsAreReducedInPlace) {
  const int r = world().rank(), W = world().size();
  at::Tensor base = at::arange(12, at::kFloat).reshape({3, 4}) * (r + 1);
  at::Tensor t = base.t();  // a view, not contiguous
  ASSERT_FALSE(t.is_contiguous());
  world().all_reduce(t, ReduceOp::kSum);
  const at::Tensor want = at::arange(12, at::kFloat).reshape({3, 4}) * (W * (W + 1) / 2.0);
  EXPECT_TRUE(base.equal(want)) << base;
}

TEST(Collectives, AsyncAllReducesCompleteInAnyWaitOrder) {
  const int r = world().rank(), W = world().size();
  at::Tensor a = at::full({1000}, r, at::kDouble), b = at::full({7}, 1, at::kLong);
  auto wa = world().all_reduce_async(a, ReduceOp::kSum, "async a");
  auto wb = world().all_reduce_async(b, ReduceOp::kSum, "async b");
  wb->wait();
  wa->wait();
  EXPECT_TRUE(a.eq(W * (W - 1) / 2.0).all().item<bool>());
  EXPECT_TRUE(b.eq(W).all().item<bool>());
}

TEST(Collectives, BroadcastFromTheLastRank) {
  const int r = world().rank(), W = world().size();
  for (auto dt : {at::kFloat, at::kBFloat16, at::kLong, at::kBool}) {
    at::Tensor t = at::full({4, 3}, r == W - 1 ? 1 : 0, dt);
    world().broadcast(t, W - 1, "test bcast");
    EXPECT_TRUE(t.to(at::kLong).eq(1).all().item<bool>()) << c10::toString(dt);
  }
  at::Tensor bad = at::zeros({1});
  EXPECT_THROW(world().broadcast(bad, W), Error);
}

// CUDA tensors go through NCCL (comm/nccl_backend.h). Needs a GPU per rank
// (NCCL refuses two ranks on one device): skipped elsewhere; on the device
// machine tools/device/check.sh runs this file with -np 1.
TEST(Collectives, CudaTensorsAllReduceAndBroadcastThroughNccl) {
  const int r = world().rank(), W = world().size();
  if (!torch::cuda::is_available() || static_cast<int>(torch::cuda::device_count()) < W)
    GTEST_SKIP() << "needs " << W << " CUDA device(s)";
  const at::Device gpu(at::kCUDA, r % static_cast<int>(torch::cuda::device_count()));
  for (auto dt : {at::kFloat, at::kBFloat16}) {
    at::Tensor t = at::full({1 << 20}, r + 1, at::TensorOptions().dtype(dt).device(gpu));
    world().all_reduce(t, ReduceOp::kSum, "test nccl all-reduce");
    EXPECT_TRUE(t.eq(W * (W + 1) / 2).all().item<bool>()) << c10::toString(dt);
    at::Tensor b = at::full({1000}, r == 0 ? 7 : 0, at::TensorOptions().dtype(dt).device(gpu));
    world().broadcast(b, 0, "test nccl broadcast");
    EXPECT_TRUE(b.eq(7).all().item<bool>()) << c10::toString(dt);
    EXPECT_TRUE(b.is_cuda());
  }
  std::printf("NCCL through comm/ on %d rank(s): backend of the CUDA path ok\n", W);
}

TEST(Collectives, AllGatherAndReduceScatter) {
  const int r = world().rank(), W = world().size();
  at::Tensor mine = at::tensor({int64_t(r), int64_t(10 * r)});
  at::Tensor all = world().all_gather(mine, "test gather");
  ASSERT_EQ(all.numel(), 2 * W);
  for (int k = 0; k < W; ++k) {
    EXPECT_EQ(all[2 * k].item<int64_t>(), k);
    EXPECT_EQ(all[2 * k + 1].item<int64_t>(), 10 * k);
  }
  EXPECT_EQ(world().all_gather(at::scalar_tensor(double(r))).sizes(), at::IntArrayRef({W}));
  at::Tensor x = at::arange(2 * W, at::kFloat).reshape({2 * W, 1}) * (r + 1);
  at::Tensor part = world().reduce_scatter(x, ReduceOp::kSum, "test rs");
  ASSERT_EQ(part.sizes(), at::IntArrayRef({2, 1}));
  const double s = W * (W + 1) / 2.0;
  EXPECT_FLOAT_EQ(part[0][0].item<float>(), 2 * r * s);
  EXPECT_FLOAT_EQ(part[1][0].item<float>(), (2 * r + 1) * s);
  at::Tensor avg = world().reduce_scatter(at::ones({W, 2}, at::kBFloat16), ReduceOp::kAvg);
  EXPECT_EQ(avg.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(avg.to(at::kFloat).eq(1).all().item<bool>());
  // A length the ranks cannot split evenly (any length splits over one rank).
  if (W > 1) EXPECT_THROW(world().reduce_scatter(at::ones({W + 1}), ReduceOp::kSum), Error);
  world().barrier("test barrier");
}

TEST(WorldLayout, RolesAndSubCommunicatorsFollowTheLayout) {
  const World& w = *g_world;
  const int R = w.n_rollouts(), L = w.n_learners();
  EXPECT_EQ(L + R, w.size());
  EXPECT_EQ(w.is_learner(), w.rank() < L);
  EXPECT_EQ(w.in_weight_sync(), w.rank() == 0 || w.rank() >= L);
  if (w.is_learner()) {
    EXPECT_EQ(g_world->learners().size(), L);
    EXPECT_EQ(g_world->learners().rank(), w.rank());
  } else {
    EXPECT_THROW(g_world->learners(), Error);
  }
  if (w.in_weight_sync()) {
    EXPECT_EQ(g_world->weight_sync().size(), R + 1);
    EXPECT_EQ(g_world->weight_sync().rank(), w.rank() == 0 ? 0 : w.rank() - L + 1);
  }
}

TEST(WeightSync, VersionAndChecksumAreVerifiedAndCorruptionIsCaught) {
  const int r = world().rank();
  // Weight-sync group semantics over the whole world, so every rank but 0
  // is a receiver (the 2-rank layout has no rollout rank).
  std::vector<at::Tensor> params{at::full({64, 8}, r == 0 ? 1.5 : 0.0),
                                 at::full({5}, r == 0 ? 7 : 0, at::kBFloat16),
                                 at::full({3}, r == 0 ? -2 : 0, at::kLong)};
  WeightSync ws(world());
  EXPECT_EQ(ws.sync(params, 3), 3);
  EXPECT_EQ(ws.version(), 3);
  EXPECT_TRUE(params[0].eq(1.5).all().item<bool>());
  EXPECT_TRUE(params[1].to(at::kFloat).eq(7).all().item<bool>());
  EXPECT_TRUE(params[2].eq(-2).all().item<bool>());
  EXPECT_EQ(ws.last_header().checksum, checksum_tensors(params));

  // Rank 1 receives damaged bytes: it must refuse them and keep version 3.
  if (r == 0) params[0].fill_(2.5);
  if (r == 1) ws.set_receive_fault_for_test([](at::Tensor& b) { b.data_ptr<uint8_t>()[17] ^= 1; });
  if (r == 1) {
    try {
      ws.sync(params, 4);
      ADD_FAILURE() << "corrupted weights accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("version 4 failed its checksum"), std::string::npos)
          << e.what();
    }
    EXPECT_EQ(ws.version(), 3);
    EXPECT_TRUE(params[0].eq(1.5).all().item<bool>());
    ws.set_receive_fault_for_test({});
  } else {
    EXPECT_EQ(ws.sync(params, 4), 4);
  }
  // The group is still in step: a clean resync succeeds everywhere.
  EXPECT_EQ(ws.sync(params, 5), 5);
  EXPECT_TRUE(params[0].eq(2.5).all().item<bool>());

  // A receiver whose model has another shape fails with a clear message.
  std::vector<at::Tensor> wrong{at::zeros({64, 8}), at::zeros({6}, at::kBFloat16),
                                at::zeros({3}, at::kLong)};
  if (r == 0) {
    EXPECT_EQ(ws.sync(params, 6), 6);
  } else {
    EXPECT_THROW(ws.sync(wrong, 6), Error);
    EXPECT_EQ(ws.version(), 5);
  }
  world().barrier("after layout mismatch");  // still in step
}

// Next-token cross-entropy, mean over the tokens of the given rows.
at::Tensor lm_loss(model::Transformer& m, const at::Tensor& ids_BT) {
  const at::Tensor keep = at::ones_like(ids_BT, at::kBool);
  at::Tensor logits = m->forward(ids_BT, keep);
  const int64_t T = ids_BT.size(1);
  at::Tensor logp = logits.narrow(1, 0, T - 1).log_softmax(-1);
  at::Tensor tgt = ids_BT.narrow(1, 1, T - 1).unsqueeze(-1);
  return -logp.gather(-1, tgt).mean();
}

model::ModelConfig tiny_config() {
  model::ModelConfig c;
  c.vocab_size = 64;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 16;
  c.d_ff = 64;
  c.max_seq_len = 32;
  return c;
}

void copy_params(model::Transformer& from, model::Transformer& to) {
  at::NoGradGuard ng;
  auto a = from->parameters(), b = to->parameters();
  for (size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
}

double max_rel_diff(model::Transformer& a, model::Transformer& b) {
  double worst = 0;
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    const double den = std::max(pb[i].norm().item<double>(), 1e-12);
    worst = std::max(worst, (pa[i] - pb[i]).norm().item<double>() / den);
  }
  return worst;
}

TEST(DataParallel, TwoLearnersAtHalfBatchMatchOneLearnerAtFullBatch) {
  if (!g_world->is_learner()) GTEST_SKIP() << "rollout rank";
  Collectives& L = g_world->learners();
  const int r = L.rank(), W = L.size();
  constexpr int64_t kB = 12, kT = 10, kSteps = 4;
  ASSERT_EQ(kB % W, 0);
  at::manual_seed(1234);
  model::Transformer ref(tiny_config()), dist(tiny_config());
  // Same start everywhere: learner 0's initial weights, as a DDP wrapper
  // would broadcast them.
  for (auto& p : ref->parameters()) {
    at::Tensor d = p.detach();
    L.broadcast(d, 0, "initial weights");
  }
  copy_params(ref, dist);
  at::manual_seed(99);
  const at::Tensor ids = at::randint(0, 64, {kSteps, kB, kT}, at::kLong);
  L.broadcast(const_cast<at::Tensor&>(ids), 0, "batch");

  auto opts = torch::optim::AdamWOptions(3e-3).weight_decay(0.01);
  torch::optim::AdamW opt_ref(ref->parameters(), opts), opt_dist(dist->parameters(), opts);
  // Small buckets so the 2-layer model spans several and the hooks must
  // start some of them during backward.
  BucketedGradSync sync(L, {/*bucket_mb=*/0.01, ReduceOp::kAvg});
  sync.attach(dist->parameters());
  int64_t overlapped = 0;
  for (int64_t s = 0; s < kSteps; ++s) {
    opt_ref.zero_grad();
    lm_loss(ref, ids[s]).backward();
    opt_ref.step();

    opt_dist.zero_grad();
    sync.arm_overlap();
    lm_loss(dist, ids[s].narrow(0, r * (kB / W), kB / W)).backward();
    overlapped += sync.bucketer()->launched_in_backward();
    sync.all_reduce_grads(dist->parameters());
    opt_dist.step();
  }
  const double rel = max_rel_diff(dist, ref);
  EXPECT_LE(rel, 1e-5) << "after " << kSteps << " steps";
  EXPECT_GT(sync.bucketer()->n_buckets(), 2);
  EXPECT_GT(overlapped, 0) << "no bucket started during backward";
  // The learners also agree with each other bit for bit.
  at::Tensor mine = dist->parameters()[0].detach().clone();
  at::Tensor theirs = mine.clone();
  L.broadcast(theirs, 0, "compare");
  EXPECT_TRUE(mine.equal(theirs));
}

}  // namespace
}  // namespace pgenrm::comm

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  pgenrm::comm::WorldOptions o;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--rollouts=", 11) == 0) o.layout.rollouts = std::atoi(argv[i] + 11);
  o.watchdog.timeout_s = 60;  // a mismatch in these tests aborts instead of hanging ctest
  int rc = 1;
  {
    pgenrm::comm::World w(o, &argc, &argv);
    if (!w.distributed()) {
      std::fprintf(stderr, "run under mpirun (ctest does: comm_mpi_np2, comm_mpi_np3)\n");
      return 1;
    }
    pgenrm::comm::g_world = &w;
    rc = RUN_ALL_TESTS();
    int any = 0;
    MPI_Allreduce(&rc, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    rc = any;
    pgenrm::comm::g_world = nullptr;
  }
  return rc;
}
