#include "scaling/refine.h"

#include <ATen/ATen.h>

#include <cmath>

#include "core/error.h"
#include "data/rng.h"
#include "scaling/kmeans.h"

namespace pgenrm::scaling {

namespace {

at::Tensor seeded_normal(std::vector<int64_t> shape, double stddev, data::Rng& rng) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * stddev);
  return at::tensor(v, at::kFloat).reshape(shape);
}

// The forward of DESIGN.md §7 for a batch; a_BD are the samples' prototypes.
at::Tensor losses(const at::Tensor& a_BD, const at::Tensor& W, const at::Tensor& Wq, const at::Tensor& Ws,
                  const at::Tensor& q, const at::Tensor& yp, const at::Tensor& yn, const at::Tensor& hist,
                  const at::Tensor& mask, const RefineOptions& o) {
  const double d = static_cast<double>(q.size(1));
  at::Tensor v = at::zeros_like(q);
  if (hist.size(1) > 0) {
    at::Tensor x = at::cat({hist.select(2, 0), hist.select(2, 1) - hist.select(2, 2)}, -1);  // [B,h,2d]
    at::Tensor ot = at::sigmoid(at::matmul(x, W.t()));                                       // [B,h,d]
    at::Tensor logit = (at::matmul(ot, q.unsqueeze(-1)).squeeze(-1) +
                        o.rho * at::matmul(ot, a_BD.unsqueeze(-1)).squeeze(-1)) /
                       std::sqrt(d);  // [B,h]
    logit = logit.masked_fill(mask.logical_not(), -1e9);
    at::Tensor alpha = at::softmax(logit, 1) * mask.to(logit.scalar_type());  // rows without history → 0
    v = (alpha.unsqueeze(-1) * ot).sum(1);
  }
  at::Tensor z = a_BD + o.lambda_q * at::matmul(q, Wq.t()) + o.lambda_s * at::matmul(v, Ws.t());
  return at::softplus(-(z * (yp - yn)).sum(1));  // −log σ(z·y⁺ − z·y⁻)
}

void check_data(const Prototypes& p, const RefineData& d) {
  PGENRM_CHECK(d.size() > 0 && d.q.dim() == 2 && d.q.size(1) == p.dim() && d.user_emb.size(0) == d.size() &&
                   d.hist.dim() == 4 && d.hist.size(0) == d.size() && d.hist_mask.size(0) == d.size(),
               "refinement data do not match the prototypes' dimension " + std::to_string(p.dim()),
               "embed the samples with the model that embedded the members");
}

}  // namespace

RefineParams init_refine_params(int64_t d, uint64_t seed) {
  data::Rng rng(data::derive_seed(seed, "refine-init"));
  RefineParams w;
  w.W = seeded_normal({d, 2 * d}, 1.0 / std::sqrt(2.0 * d), rng);
  w.Wq = seeded_normal({d, d}, 0.01, rng);
  w.Ws = seeded_normal({d, d}, 0.01, rng);
  return w;
}

at::Tensor pair_losses(const Prototypes& p, const RefineParams& w, const RefineData& data,
                       const RefineOptions& o) {
  check_data(p, data);
  at::NoGradGuard no_grad;
  at::Tensor j = at::tensor(nearest_centroid(data.user_emb, p.centroids), at::kLong);
  return losses(p.centroids.index_select(0, j), w.W, w.Wq, w.Ws, data.q, data.yp, data.yn, data.hist,
                data.hist_mask, o);
}

double mean_pair_loss(const Prototypes& p, const RefineParams& w, const RefineData& data,
                      const RefineOptions& o) {
  return pair_losses(p, w, data, o).mean().item<double>();
}

RefineReport refine(Prototypes& p, RefineParams& w, const RefineData& train, const RefineOptions& o) {
  check_data(p, train);
  RefineReport report;
  data::Rng rng(data::derive_seed(o.seed, "refine"));
  const int64_t M = train.size();
  const int64_t B = std::min<int64_t>(o.batch, M);
  for (int64_t round = 0; round < o.rounds; ++round) {
    // Fixed for the round: the samples' prototypes, μ_j and p_j.
    at::Tensor j_all = at::tensor(nearest_centroid(train.user_emb, p.centroids), at::kLong);
    at::Tensor mu = p.cluster_means();
    at::Tensor prev = p.centroids.clone();
    at::Tensor A = p.centroids.clone().set_requires_grad(true);
    std::vector<at::Tensor> params = {A, w.W.clone().set_requires_grad(true), w.Wq.clone().set_requires_grad(true),
                                      w.Ws.clone().set_requires_grad(true)};
    std::vector<at::Tensor> m1, m2;
    for (auto& t : params) {
      m1.push_back(at::zeros_like(t));
      m2.push_back(at::zeros_like(t));
    }
    double tail = 0;
    int64_t tail_n = 0;
    for (int64_t step = 0; step < o.steps; ++step) {
      std::vector<int64_t> pick(B);
      for (auto& x : pick) x = rng.below(M);
      at::Tensor idx = at::tensor(pick, at::kLong);
      at::Tensor j = j_all.index_select(0, idx);
      at::Tensor a = params[0].index_select(0, j);
      at::Tensor l = losses(a, params[1], params[2], params[3], train.q.index_select(0, idx),
                            train.yp.index_select(0, idx), train.yn.index_select(0, idx),
                            train.hist.index_select(0, idx), train.hist_mask.index_select(0, idx), o);
      at::Tensor reg = o.lambda_cent * (a - mu.index_select(0, j)).pow(2).sum(1) +
                       o.lambda_tr * (a - prev.index_select(0, j)).pow(2).sum(1);
      at::Tensor loss = (l + reg).mean();
      for (auto& t : params) t.mutable_grad() = at::Tensor();
      loss.backward();
      if (step >= o.steps - std::max<int64_t>(1, o.steps / 10)) {
        tail += loss.item<double>();
        ++tail_n;
      }
      at::NoGradGuard ng;
      const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
      const double c1 = 1 - std::pow(b1, step + 1), c2 = 1 - std::pow(b2, step + 1);
      for (size_t i = 0; i < params.size(); ++i) {
        at::Tensor g = params[i].grad();
        if (!g.defined()) continue;
        m1[i].mul_(b1).add_(g, 1 - b1);
        m2[i].mul_(b2).addcmul_(g, g, 1 - b2);
        params[i].sub_(o.lr * (m1[i] / c1) / ((m2[i] / c2).sqrt() + eps));
      }
    }
    p.centroids = params[0].detach().clone();
    w.W = params[1].detach().clone();
    w.Wq = params[2].detach().clone();
    w.Ws = params[3].detach().clone();
    report.round_loss.push_back(tail_n ? tail / tail_n : std::nan(""));
    report.moved.push_back(p.reassign());
  }
  return report;
}

}  // namespace pgenrm::scaling
