// k-means over embedding rows: k-means++ initialisation, Lloyd iterations,
// several seeded restarts (the lowest within-cluster sum of squares wins),
// and the retained-variance report that picks k (DESIGN.md §7). Also the
// adjusted Rand index, to compare a clustering with a known one.
//
// Deterministic for a seed on every platform: the draws come from
// data::Rng, distances from libtorch in fp64.
//
// Not here: what is embedded (scaling/embed.h), prototypes (prototypes.h).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace pgenrm::scaling {

struct KMeansOptions {
  int64_t k = 8;
  int64_t restarts = 8;
  int64_t iters = 100;
  uint64_t seed = 1;
};

struct KMeansResult {
  at::Tensor centroids;         // [k, d] float32
  std::vector<int64_t> assign;  // [N] cluster of each row
  double inertia = 0;           // Σ ‖x − c(x)‖² (within-cluster sum of squares)
  double total_ss = 0;          // Σ ‖x − mean‖²
  int64_t iterations = 0;       // Lloyd iterations of the winning restart
  // 1 − inertia / total_ss: share of the variance the centroids keep.
  double retained() const { return total_ss > 0 ? 1.0 - inertia / total_ss : 1.0; }
};

// x [N, d] (any float dtype). Throws pgenrm::Error when k < 1 or k > N.
// An emptied cluster is re-seeded with the row farthest from its centroid.
KMeansResult kmeans(const at::Tensor& x, const KMeansOptions& options);

// Index of the nearest centroid (squared Euclidean) of every row of x.
std::vector<int64_t> nearest_centroid(const at::Tensor& x, const at::Tensor& centroids);

struct RetainedRow {
  int64_t k = 0;
  double retained = 0, inertia = 0;
};
// One k-means per candidate k (candidates > N are skipped).
std::vector<RetainedRow> retained_variance_report(const at::Tensor& x, const std::vector<int64_t>& ks,
                                                  const KMeansOptions& base);
// The smallest k whose retained variance reaches `target`; the largest
// candidate when none does. `rows` must not be empty.
int64_t pick_k(const std::vector<RetainedRow>& rows, double target);

// Adjusted Rand index of two labelings of the same items (1 = identical up
// to renaming, ≈ 0 = chance). Throws when the sizes differ.
double adjusted_rand_index(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

}  // namespace pgenrm::scaling
