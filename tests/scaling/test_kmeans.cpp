// k-means: recovers planted clusters, the retained-variance report picks
// their number, restarts are seeded, bad k is an error; the adjusted Rand
// index itself.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "scaling/kmeans.h"
#include "helpers.h"

using namespace pgenrm::scaling;

TEST(AdjustedRandIndex, IdenticalUpToRenamingIsOneAndChanceIsNearZero) {
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1, 2, 2}, {5, 5, 3, 3, 9, 9}), 1.0);
  // Crossed labelings agree less than chance: (0 − 18/15) / (4.5 − 18/15) = −4/11.
  EXPECT_NEAR(adjusted_rand_index({0, 0, 0, 1, 1, 1}, {0, 1, 2, 0, 1, 2}), -4.0 / 11, 1e-12);
  std::vector<int64_t> a, b;
  for (int i = 0; i < 3000; ++i) {
    a.push_back(i % 5);
    b.push_back((i * 7919 / 13) % 5);
  }
  EXPECT_LT(std::abs(adjusted_rand_index(a, b)), 0.05);
  EXPECT_THROW(adjusted_rand_index({0, 1}, {0}), pgenrm::Error);
}

TEST(KMeans, RecoversPlantedClusters) {
  auto p = test::planted(6, 50, 16, 1.0, 0.35, 3);
  KMeansOptions o;
  o.k = 6;
  o.restarts = 5;
  o.seed = 7;
  KMeansResult r = kmeans(p.x, o);
  const double ari = adjusted_rand_index(p.labels, r.assign);
  EXPECT_GE(ari, 0.9) << "ARI " << ari;
  EXPECT_EQ(r.centroids.sizes(), (at::IntArrayRef{6, 16}));
  EXPECT_GT(r.retained(), 0.8);
  // Seeded: the same options give the same clustering.
  EXPECT_EQ(kmeans(p.x, o).assign, r.assign);
}

TEST(KMeans, RetainedVarianceReportPicksThePlantedK) {
  auto p = test::planted(5, 40, 8, 1.0, 0.2, 5);
  KMeansOptions o;
  o.restarts = 4;
  auto rows = retained_variance_report(p.x, {1, 2, 3, 5, 8, 1000}, o);
  ASSERT_EQ(rows.size(), 5u);  // k = 1000 > N is skipped
  EXPECT_NEAR(rows[0].retained, 0.0, 1e-9);
  for (size_t i = 1; i < rows.size(); ++i) EXPECT_GE(rows[i].retained, rows[i - 1].retained - 1e-9);
  EXPECT_GT(rows[3].retained, 0.9);  // k = 5
  EXPECT_LT(rows[2].retained, 0.9);  // k = 3 cannot hold 5 separated clusters
  EXPECT_EQ(pick_k(rows, 0.9), 5);
  EXPECT_EQ(pick_k(rows, 1.1), 8);  // unreachable target: the largest candidate
}

TEST(KMeans, RejectsBadK) {
  auto p = test::planted(2, 3, 4, 1.0, 0.1, 1);
  KMeansOptions o;
  o.k = 7;
  EXPECT_THROW(kmeans(p.x, o), pgenrm::Error);
  o.k = 0;
  EXPECT_THROW(kmeans(p.x, o), pgenrm::Error);
}
