#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "trainer/eval_summary.h"

using namespace pgenrm::trainer;

TEST(EvalSummary, TiesAndFailuresStayInTheDenominator) {
  std::vector<PairOutcome> o = {
      {0, 0, Verdict::kCorrect, {"warm"}}, {1, 0, Verdict::kWrong, {"warm"}},
      {2, 0, Verdict::kTie, {"cold_start"}}, {3, 0, Verdict::kParseFailure, {"cold_start"}},
      {4, 0, Verdict::kCorrect, {"cold_start"}}};
  EvalSummary s = summarize(o, {"warm", "cold_start", "stated_criteria"});
  EXPECT_DOUBLE_EQ(s.accuracy, 2.0 / 5);
  EXPECT_DOUBLE_EQ(s.accuracy_ties_dropped, 2.0 / 3);
  EXPECT_EQ(s.ties, 1);
  EXPECT_EQ(s.parse_failures, 1);
  EXPECT_EQ(s.n_pairs, 5);
  EXPECT_DOUBLE_EQ(s.groups["warm"].accuracy, 0.5);
  EXPECT_DOUBLE_EQ(s.groups["cold_start"].accuracy, 1.0 / 3);
  EXPECT_EQ(s.groups["stated_criteria"].n_pairs, 0);
  // Binomial-like SE over 5 pairs with values {1,0,0,0,1}: sd = sqrt(0.3), se = sd/sqrt(5).
  EXPECT_NEAR(s.se, std::sqrt(0.3 / 5), 1e-12);
  nlohmann::json j = s;
  EXPECT_EQ(j["groups"]["warm"]["n_pairs"], 2);
  EXPECT_EQ(j["ties"], 1);
}

TEST(EvalSummary, SeedsAreAveragedWithinPairs) {
  // Pair 0 right under both seeds, pair 1 right under one: per-pair means 1 and 0.5.
  std::vector<PairOutcome> o = {{0, 0, Verdict::kCorrect, {}}, {0, 1, Verdict::kCorrect, {}},
                                {1, 0, Verdict::kCorrect, {}}, {1, 1, Verdict::kWrong, {}}};
  EvalSummary s = summarize(o, {});
  EXPECT_EQ(s.n_pairs, 2);
  EXPECT_EQ(s.n_items, 4);
  EXPECT_DOUBLE_EQ(s.accuracy, 0.75);
  EXPECT_NEAR(s.se, std::sqrt(0.125 / 2), 1e-12);  // sd of {1, 0.5} = sqrt(0.125)
  EXPECT_EQ(s.seed_accuracy, (std::vector<double>{1.0, 0.5}));
}

TEST(EvalSummary, VerdictFromScores) {
  EXPECT_EQ(verdict_from_scores(7.5, 6.0), Verdict::kCorrect);
  EXPECT_EQ(verdict_from_scores(6.0, 7.5), Verdict::kWrong);
  EXPECT_EQ(verdict_from_scores(6.0, 6.0), Verdict::kTie);
  EXPECT_EQ(verdict_from_scores(std::nan(""), 6.0), Verdict::kParseFailure);
}

namespace pgenrm::trainer {
namespace {

// Two scorers that agree on which pairs are hard: the paired SE of their
// difference is far below either accuracy's own SE, and the difference is
// the difference of the accuracies.
TEST(EvalSummary, PairedDifferenceUsesThePairing) {
  std::vector<PairOutcome> a, b;
  for (int64_t p = 0; p < 200; ++p) {
    const bool hard = p % 2 == 0;
    a.push_back({p, 1, hard ? Verdict::kWrong : Verdict::kCorrect, {}});
    // b = a, except 20 of the easy pairs go wrong.
    const bool lost = !hard && p % 20 == 1;
    b.push_back({p, 1, hard || lost ? Verdict::kWrong : Verdict::kCorrect, {}});
  }
  const EvalSummary sa = summarize(a, {}), sb = summarize(b, {});
  ASSERT_EQ(sa.pair_accuracy.size(), 200u);
  const PairedDiff d = paired_difference(sa.pair_accuracy, sb.pair_accuracy);
  EXPECT_NEAR(d.diff, sa.accuracy - sb.accuracy, 1e-12);
  EXPECT_NEAR(d.diff, 10.0 / 200.0, 1e-12);
  EXPECT_LT(d.se, 0.5 * sa.se);
  EXPECT_GT(d.se, 0.0);
  EXPECT_THROW(paired_difference(sa.pair_accuracy, {0.5}), pgenrm::Error);
}

}  // namespace
}  // namespace pgenrm::trainer
