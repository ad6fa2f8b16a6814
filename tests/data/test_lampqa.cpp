// LaMP-QA loader and the Spearman ranking evaluation (data/lampqa.h).
#include <gtest/gtest.h>

#include <cmath>

#include "data/lampqa.h"
#include "tests/data/real_helpers.h"

namespace pgenrm::data {
namespace {

using testing::fixture;
using testing::skipped_at;

TEST(LampQa, ReadsAJsonArrayOfItems) {
  const LampQaData d = load_lampqa({fixture("lampqa/Art_and_Entertainment.json")}, LoadOptions{});
  EXPECT_TRUE(d.report.skipped.empty()) << d.report.skipped.front().message;
  ASSERT_EQ(d.items.size(), 2u);
  const LampQaItem& a = d.items[0];
  EXPECT_EQ(a.id, "1001");
  EXPECT_EQ(a.question, "How do I start painting with watercolours?");
  EXPECT_EQ(a.narrative, "I am a retired teacher with shaky hands and a small budget.");
  ASSERT_EQ(a.rubric.size(), 2u);
  EXPECT_EQ(a.rubric[0].aspect, "affordable materials");
  EXPECT_EQ(a.rubric[1].reason, "");  // null
  ASSERT_EQ(a.profile.size(), 2u);
  EXPECT_EQ(a.profile[1].id, "17");  // integer id
  const LampQaItem& b = d.items[1];
  EXPECT_EQ(b.id, "1002");             // integer id
  EXPECT_EQ(b.narrative, "");          // NaN
  EXPECT_EQ(b.category, "Art_and_Entertainment");  // from the file name
}

TEST(LampQa, BadElementsAreSkippedWithTheLineTheyStartOn) {
  const LampQaData d = load_lampqa({fixture("lampqa_bad")}, LoadOptions{});
  const auto& r = d.report;
  EXPECT_NE(skipped_at(r, "Society_and_Culture.json", 3).find("missing key \"question\" [missing_field]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "Society_and_Culture.json", 4).find("\"profile\" must be a list, not string [wrong_type]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "Society_and_Culture.json", 5).find("duplicate id \"1\" (first at "), std::string::npos);
  EXPECT_NE(skipped_at(r, "Society_and_Culture.json", 6).find("not valid JSON"), std::string::npos);
  EXPECT_EQ(r.skipped.size(), 4u);
  ASSERT_EQ(d.items.size(), 2u);
  EXPECT_EQ(d.items[1].id, "6");  // the element after the malformed one still loads
}

TEST(LampQa, SpearmanUsesAverageRanksForTies) {
  EXPECT_NEAR(*spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(*spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_NEAR(*spearman({0.9, 0.5, 0.7}, {-1, -2, -3}), 0.5, 1e-12);
  // Ties: ranks (1.5, 1.5, 3) vs (1, 2, 3) → r = 0.866...
  EXPECT_NEAR(*spearman({1, 1, 2}, {1, 2, 3}), std::sqrt(3.0) / 2.0, 1e-12);
  EXPECT_FALSE(spearman({1, 1, 1}, {1, 2, 3}).has_value());
  EXPECT_FALSE(spearman({1}, {1}).has_value());
}

TEST(LampQa, RankingEvaluationAgainstGroundTruth) {
  const LampQaData d = load_lampqa({fixture("lampqa/Art_and_Entertainment.json")}, LoadOptions{});
  LoadReport report;
  const auto cands = load_lampqa_candidates(fixture("lampqa/candidates.jsonl"), report, false);
  ASSERT_EQ(cands.size(), 3u);
  // The file's own scores: item 1001 rho 0.5 (by hand), item 1002 rho 1.
  std::map<std::pair<std::string, std::string>, double> given;
  for (const auto& row : cands)
    for (const auto& c : row.candidates) given[{row.item_id, c.answer}] = *c.score;
  const LampQaEval ev = evaluate_lampqa(
      d.items, cands, [&](const LampQaItem& it, const std::string& a) { return given.at({it.id, a}); });
  EXPECT_EQ(ev.items, 3);
  EXPECT_EQ(ev.unknown_item, 1);  // "9999"
  EXPECT_EQ(ev.evaluated, 2);
  EXPECT_NEAR(ev.mean_rho, 0.75, 1e-12);
  EXPECT_NEAR(ev.by_category.at("Art_and_Entertainment").first, 0.75, 1e-12);
  // The rubric-coverage reference scorer orders both items as the truth does.
  const LampQaEval rub = evaluate_lampqa(d.items, cands, rubric_coverage);
  EXPECT_NEAR(rub.mean_rho, 1.0, 1e-12);
  // A reversed scorer gives the opposite sign.
  const LampQaEval rev = evaluate_lampqa(
      d.items, cands, [&](const LampQaItem& it, const std::string& a) { return -rubric_coverage(it, a); });
  EXPECT_NEAR(rev.mean_rho, -1.0, 1e-12);
}

}  // namespace
}  // namespace pgenrm::data
