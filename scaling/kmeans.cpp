#include "scaling/kmeans.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <map>

#include "core/error.h"
#include "data/rng.h"

namespace pgenrm::scaling {

namespace {

// Squared distances [N, k] in fp64.
at::Tensor sq_dist(const at::Tensor& x, const at::Tensor& c) {
  at::Tensor d = x.pow(2).sum(1, true) - 2 * at::mm(x, c.t()) + c.pow(2).sum(1).unsqueeze(0);
  return d.clamp_min(0);
}

// k-means++: the first centre uniformly, then each next one with
// probability proportional to the squared distance to the nearest centre.
at::Tensor plus_plus(const at::Tensor& x, int64_t k, data::Rng& rng) {
  const int64_t n = x.size(0);
  std::vector<int64_t> picked = {rng.below(n)};
  at::Tensor best = sq_dist(x, x.index_select(0, at::tensor(picked, at::kLong))).select(1, 0);
  for (int64_t j = 1; j < k; ++j) {
    const double total = best.sum().item<double>();
    int64_t pick = 0;
    if (total <= 0) {
      pick = rng.below(n);
    } else {
      const double r = rng.uniform() * total;
      at::Tensor cum = best.cumsum(0);
      pick = std::min<int64_t>(n - 1, (cum < r).sum().item<int64_t>());
    }
    picked.push_back(pick);
    best = at::minimum(best, sq_dist(x, x.narrow(0, pick, 1)).select(1, 0));
  }
  return x.index_select(0, at::tensor(picked, at::kLong)).clone();
}

KMeansResult lloyd(const at::Tensor& x, at::Tensor c, int64_t iters) {
  const int64_t k = c.size(0);
  KMeansResult r;
  at::Tensor assign;
  for (int64_t it = 0; it < iters; ++it) {
    at::Tensor d = sq_dist(x, c);
    at::Tensor a = d.argmin(1);
    r.iterations = it + 1;
    if (assign.defined() && at::equal(a, assign)) break;
    assign = a;
    at::Tensor sums = at::zeros_like(c).index_add_(0, assign, x);
    at::Tensor counts = at::zeros({k}, x.options()).index_add_(0, assign, at::ones({x.size(0)}, x.options()));
    at::Tensor mind = d.gather(1, assign.unsqueeze(1)).squeeze(1);
    for (int64_t j = 0; j < k; ++j) {
      if (counts[j].item<double>() > 0) {
        c[j] = sums[j] / counts[j];
      } else {
        // Re-seed an empty cluster with the row farthest from its centroid.
        const int64_t far = mind.argmax().item<int64_t>();
        c[j] = x[far];
        mind[far] = 0;
      }
    }
  }
  at::Tensor d = sq_dist(x, c);
  assign = d.argmin(1);
  r.inertia = d.gather(1, assign.unsqueeze(1)).sum().item<double>();
  r.centroids = c;
  r.assign.assign(assign.data_ptr<int64_t>(), assign.data_ptr<int64_t>() + assign.numel());
  return r;
}

}  // namespace

KMeansResult kmeans(const at::Tensor& x_in, const KMeansOptions& o) {
  PGENRM_CHECK(x_in.dim() == 2 && x_in.size(0) > 0, "k-means needs a non-empty [N, d] matrix",
               "embed at least one user first");
  const int64_t n = x_in.size(0);
  PGENRM_CHECK(o.k >= 1 && o.k <= n,
               "k-means with k = " + std::to_string(o.k) + " over " + std::to_string(n) + " rows",
               "choose 1 <= k <= the number of embedded users");
  at::Tensor x = x_in.to(at::kCPU, at::kDouble).contiguous();
  data::Rng rng(data::derive_seed(o.seed, "kmeans", static_cast<uint64_t>(o.k)));
  KMeansResult best;
  best.inertia = std::numeric_limits<double>::infinity();
  for (int64_t r = 0; r < std::max<int64_t>(1, o.restarts); ++r) {
    KMeansResult cur = lloyd(x, plus_plus(x, o.k, rng), o.iters);
    if (cur.inertia < best.inertia) best = std::move(cur);
  }
  best.total_ss = (x - x.mean(0, true)).pow(2).sum().item<double>();
  best.centroids = best.centroids.to(at::kFloat);
  return best;
}

std::vector<int64_t> nearest_centroid(const at::Tensor& x, const at::Tensor& centroids) {
  at::Tensor a = sq_dist(x.to(at::kDouble), centroids.to(at::kDouble)).argmin(1).contiguous();
  return {a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel()};
}

std::vector<RetainedRow> retained_variance_report(const at::Tensor& x, const std::vector<int64_t>& ks,
                                                  const KMeansOptions& base) {
  std::vector<RetainedRow> rows;
  for (int64_t k : ks) {
    if (k < 1 || k > x.size(0)) continue;
    KMeansOptions o = base;
    o.k = k;
    KMeansResult r = kmeans(x, o);
    rows.push_back({k, r.retained(), r.inertia});
  }
  return rows;
}

int64_t pick_k(const std::vector<RetainedRow>& rows, double target) {
  PGENRM_CHECK(!rows.empty(), "no k candidate fits the number of users",
               "lower scaling.k_candidates or embed more users");
  std::vector<RetainedRow> sorted = rows;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.k < b.k; });
  for (const auto& r : sorted)
    if (r.retained >= target) return r.k;
  return sorted.back().k;
}

double adjusted_rand_index(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  PGENRM_CHECK(a.size() == b.size(), "adjusted Rand index of labelings of different sizes",
               "compare labelings of the same items");
  std::map<std::pair<int64_t, int64_t>, double> nij;
  std::map<int64_t, double> ai, bj;
  for (size_t i = 0; i < a.size(); ++i) {
    nij[{a[i], b[i]}] += 1;
    ai[a[i]] += 1;
    bj[b[i]] += 1;
  }
  auto c2 = [](double v) { return v * (v - 1) / 2; };
  double sum_ij = 0, sum_a = 0, sum_b = 0;
  for (const auto& [key, v] : nij) sum_ij += c2(v);
  for (const auto& [key, v] : ai) sum_a += c2(v);
  for (const auto& [key, v] : bj) sum_b += c2(v);
  const double total = c2(static_cast<double>(a.size()));
  const double expected = total > 0 ? sum_a * sum_b / total : 0;
  const double max_index = (sum_a + sum_b) / 2;
  if (max_index == expected) return 1.0;  // both labelings trivial
  return (sum_ij - expected) / (max_index - expected);
}

}  // namespace pgenrm::scaling
