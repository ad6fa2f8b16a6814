// Prototype refinement (DESIGN.md §7): it lowers L_pair on members it never
// trained on, and each regulariser changes the result in its own direction
// when its λ changes.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "helpers.h"
#include "scaling/kmeans.h"
#include "scaling/refine.h"

using namespace pgenrm::scaling;

namespace {

constexpr int64_t kD = 8, kK = 3, kH = 3;

// Users of cluster j have embedding ≈ c_j but PREFER along u_j, a direction
// unrelated to c_j: the k-means centre alone does not predict preferences,
// a refined prototype can.
struct World {
  at::Tensor c, u;  // [k, d]
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(99);
  World() {
    c = at::randn({kK, kD}, gen);
    u = at::randn({kK, kD}, gen);
    u = u / u.norm(2, 1, true);
  }
  at::Tensor unit(int64_t n) {
    at::Tensor x = at::randn({n, kD}, gen);
    return x / x.norm(2, 1, true);
  }
  // `users` per cluster, `per` samples each.
  void make(int64_t users, int64_t per, at::Tensor* user_emb, std::vector<int64_t>* cluster, RefineData* d) {
    std::vector<at::Tensor> ue, q, yp, yn, hist;
    std::vector<at::Tensor> emb_rows;
    for (int64_t j = 0; j < kK; ++j)
      for (int64_t i = 0; i < users; ++i) {
        at::Tensor e = c[j] + 0.2 * at::randn({kD}, gen);
        e = e / e.norm();
        emb_rows.push_back(e);
        cluster->push_back(j);
        auto triple = [&](at::Tensor* a, at::Tensor* b, at::Tensor* cc) {
          at::Tensor y = unit(2);
          const bool swap = at::dot(u[j], y[0] - y[1]).item<float>() < 0;
          *a = unit(1)[0];
          *b = swap ? y[1] : y[0];
          *cc = swap ? y[0] : y[1];
        };
        for (int64_t s = 0; s < per; ++s) {
          at::Tensor a, b, cc;
          triple(&a, &b, &cc);
          q.push_back(a);
          yp.push_back(b);
          yn.push_back(cc);
          std::vector<at::Tensor> h;
          for (int64_t t = 0; t < kH; ++t) {
            triple(&a, &b, &cc);
            h.push_back(at::stack({a, b, cc}));
          }
          hist.push_back(at::stack(h));
          ue.push_back(e);
        }
      }
    *user_emb = at::stack(emb_rows);
    d->user_emb = at::stack(ue);
    d->q = at::stack(q);
    d->yp = at::stack(yp);
    d->yn = at::stack(yn);
    d->hist = at::stack(hist);
    d->hist_mask = at::ones({d->size(), kH}, at::kBool);
    d->hist_mask.select(1, kH - 1).narrow(0, 0, d->size() / 2).fill_(false);  // some shorter histories
  }
};

Prototypes members(const at::Tensor& emb) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < emb.size(0); ++i) ids.push_back("m" + std::to_string(i));
  KMeansOptions o;
  o.k = kK;
  return make_prototypes(ids, emb, kmeans(emb, o).centroids);
}

}  // namespace

TEST(Refine, LowersPairLossOnHeldOutMembers) {
  World w;
  at::Tensor emb, held_emb;
  std::vector<int64_t> cl, held_cl;
  RefineData train, held;
  w.make(60, 10, &emb, &cl, &train);
  w.make(10, 6, &held_emb, &held_cl, &held);  // users the refinement never sees
  Prototypes p = members(emb);
  EXPECT_GE(adjusted_rand_index(cl, p.assign), 0.9);
  RefineOptions o;
  o.rounds = 2;
  o.steps = 150;
  o.lr = 0.02;
  RefineParams params = init_refine_params(kD, 5);
  const double before = mean_pair_loss(p, params, held, o);
  const double before_train = mean_pair_loss(p, params, train, o);
  RefineReport r = refine(p, params, train, o);
  const double after = mean_pair_loss(p, params, held, o);
  std::printf("train L_pair %.4f -> %.4f; round loss %.4f %.4f\n", before_train, mean_pair_loss(p, params, train, o), r.round_loss[0], r.round_loss[1]);
  std::printf("held-out L_pair %.4f -> %.4f; moved %lld, %lld\n", before, after,
              static_cast<long long>(r.moved[0]), static_cast<long long>(r.moved[1]));
  EXPECT_NEAR(before, std::log(2.0), 0.1);
  EXPECT_LT(after, 0.85 * before);
  ASSERT_EQ(r.round_loss.size(), 2u);
  // The same seed gives the same refinement.
  Prototypes p2 = members(emb);
  RefineParams params2 = init_refine_params(kD, 5);
  refine(p2, params2, train, o);
  EXPECT_TRUE(at::equal(p.centroids, p2.centroids));
}

TEST(Refine, EachRegulariserPullsTowardsItsOwnTarget) {
  World w;
  at::Tensor emb;
  std::vector<int64_t> cl;
  RefineData train;
  w.make(20, 4, &emb, &cl, &train);
  Prototypes start = members(emb);
  // Start away from the cluster means, so that μ_j (cluster mean) and p_j
  // (prototype before the round) differ.
  start.centroids = start.cluster_means() + 0.2 * at::randn({kK, kD}, w.gen);
  start.reassign();
  const at::Tensor mu = start.cluster_means(), prev = start.centroids.clone();
  auto run = [&](double lc, double lt) {
    Prototypes p = start;
    p.centroids = start.centroids.clone();
    RefineParams params = init_refine_params(kD, 5);
    RefineOptions o;
    o.rounds = 1;
    o.steps = 120;
    o.lr = 0.05;
    o.lambda_cent = lc;
    o.lambda_tr = lt;
    refine(p, params, train, o);
    return p.centroids;
  };
  at::Tensor none = run(0, 0), cent = run(2, 0), tr = run(0, 2);
  auto dist = [](const at::Tensor& a, const at::Tensor& b) { return (a - b).norm().item<double>(); };
  EXPECT_GT((cent - none).abs().max().item<float>(), 1e-3);
  EXPECT_GT((tr - none).abs().max().item<float>(), 1e-3);
  EXPECT_LT(dist(cent, mu), dist(none, mu));
  EXPECT_LT(dist(tr, prev), dist(none, prev));
  EXPECT_LT(dist(cent, mu), dist(tr, mu));    // λ_cent pulls to the cluster mean...
  EXPECT_LT(dist(tr, prev), dist(cent, prev));  // ...λ_tr to the previous prototype
}
