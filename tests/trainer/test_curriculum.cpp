#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "trainer/curriculum.h"

using namespace pgenrm::trainer;

TEST(Curriculum, ScheduleRisesFromP0ToP1) {
  CurriculumSpec s;
  s.p0 = 0.1;
  s.p1 = 0.9;
  s.steps = 11;
  EXPECT_NEAR(hard_share_at(s, 0), 0.1, 1e-12);
  EXPECT_NEAR(hard_share_at(s, 5), 0.5, 1e-12);
  EXPECT_NEAR(hard_share_at(s, 10), 0.9, 1e-12);
  s.schedule = "step";
  s.levels = 4;
  EXPECT_NEAR(hard_share_at(s, 0), 0.1, 1e-12);
  EXPECT_NEAR(hard_share_at(s, 10), 0.9, 1e-12);
  EXPECT_NEAR(hard_share_at(s, 3), 0.1 + 0.8 / 3, 1e-12);  // t = 0.3 → plateau 1 of 0..3
  s.schedule = "cubic";
  EXPECT_THROW(hard_share_at(s, 1), pgenrm::Error);
}

TEST(Curriculum, SamplerRealisesTheScheduledShareWithinSamplingError) {
  // 10% of the pool is hard: an unguided sampler would realise ~0.1.
  std::vector<size_t> pairs;
  std::vector<bool> hard;
  for (size_t i = 0; i < 1000; ++i) {
    pairs.push_back(i);
    hard.push_back(i % 10 == 0);
  }
  CurriculumSpec s;
  s.p0 = 0.2;
  s.p1 = 0.8;
  s.steps = 5;
  CurriculumSampler sampler(pairs, hard, s, 42);
  const int64_t n = 2000;
  for (int64_t step = 0; step < 5; ++step) {
    double realised = 0;
    auto batch = sampler.batch(step, n, &realised);
    ASSERT_EQ(batch.size(), static_cast<size_t>(n));
    const double p = hard_share_at(s, step);
    EXPECT_NEAR(realised, p, 4 * std::sqrt(p * (1 - p) / n)) << "step " << step;
    int64_t count = 0;
    for (size_t b : batch) count += b % 10 == 0;
    EXPECT_DOUBLE_EQ(realised, static_cast<double>(count) / n);
  }
}

TEST(Curriculum, LowAccuracyDefinitionFollowsTheModel) {
  CurriculumSpec s;
  s.hard = "low_accuracy";
  CurriculumSampler sampler({1, 2, 3}, {true, false, false}, s, 1);
  EXPECT_FALSE(sampler.is_hard(1)) << "population flag ignored in low_accuracy mode";
  sampler.record_accuracy(2, 0.25);
  sampler.record_accuracy(3, 0.75);
  EXPECT_TRUE(sampler.is_hard(2));
  EXPECT_FALSE(sampler.is_hard(3));
  s.hard = "either";
  CurriculumSampler both({1, 2}, {true, false}, s, 1);
  EXPECT_TRUE(both.is_hard(1));
  EXPECT_THROW(CurriculumSampler({1}, {true}, CurriculumSpec{.hard = "sometimes"}, 1), pgenrm::Error);
}
