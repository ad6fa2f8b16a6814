// Rewards: OR (incl. the format-error value and ties), the rule-based PR
// (normalisation, synonyms, weights, edge cases), and the stage rewards.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "chain/parse.h"
#include "chain/render.h"
#include "chain/rewards.h"
#include "chain_fixtures.h"
#include "core/error.h"

namespace pgenrm::chain {
namespace {

using testing::example_chain;
using testing::example_text;

ParseResult parsed_with_scores(std::vector<std::vector<int>> scores) {
  Chain c = example_chain();
  c.scores = std::move(scores);
  c.stated_totals.clear();
  return parse(render(c), c.scores.size());
}

// --- outcome ---------------------------------------------------------------------

TEST(OutcomeReward, OneWhenChosenScoresHigherZeroOtherwise) {
  ParseResult r = parse(example_text(), 2);  // totals 5.20, 6.00
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(outcome_reward(r, /*chosen=*/1, /*rejected=*/0), 1.0);
  EXPECT_EQ(outcome_reward(r, /*chosen=*/0, /*rejected=*/1), 0.0);
}

TEST(OutcomeReward, TieGivesZero) {
  ParseResult r = parsed_with_scores({{5, 5}, {5, 5}});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(outcome_reward(r, 0, 1), 0.0);
  EXPECT_EQ(outcome_reward(r, 1, 0), 0.0);
}

TEST(OutcomeReward, FormatErrorGivesMinusPointOne) {
  EXPECT_EQ(outcome_reward(parse("not a chain", 2), 0, 1), -0.1);
  EXPECT_EQ(kFormatErrorReward, -0.1);
}

TEST(OutcomeReward, UsesRecomputedNotStatedTotals) {
  // Weights 1/99 make totals 0.01 apart possible: recomputed 4.97 vs 4.96,
  // stated (each within tolerance) 4.94 vs 4.99, which would flip the order.
  Chain c = example_chain();
  c.criteria = {{"brevity", 1}, {"depth", 99}};
  c.scores = {{2, 5}, {1, 5}};
  c.stated_totals = {4.94, 4.99};
  ParseResult r = parse(render(c), 2);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(*extract_scores(r), (std::vector<double>{4.97, 4.96}));
  EXPECT_EQ(outcome_reward(r, /*chosen=*/0, /*rejected=*/1), 1.0);
}

TEST(OutcomeReward, ThreeResponsesAndIndexChecks) {
  EXPECT_EQ(outcome_reward(std::vector<double>{3.0, 9.0, 4.0}, 1, 2), 1.0);
  EXPECT_EQ(outcome_reward(std::vector<double>{3.0, 9.0, 4.0}, 0, 2), 0.0);
  EXPECT_THROW(outcome_reward(std::vector<double>{3.0, 9.0}, 0, 2), Error);
  EXPECT_THROW(outcome_reward(std::vector<double>{3.0, 9.0}, 1, 1), Error);
}

// --- stage rewards ----------------------------------------------------------------

TEST(StageReward, CreAndCurriculum) {
  EXPECT_DOUBLE_EQ(cre_reward(0.6, 1.0), 0.5 * 0.6 + 1.0);
  EXPECT_DOUBLE_EQ(cre_reward(0.0, kFormatErrorReward), -0.1);
  EXPECT_DOUBLE_EQ(cre_reward(0.6, 0.0, /*alpha=*/0.25, /*beta=*/2.0), 0.15);
  EXPECT_DOUBLE_EQ(curriculum_reward(1.0), 1.0);
  EXPECT_DOUBLE_EQ(curriculum_reward(kFormatErrorReward, /*beta=*/2.0), -0.2);
  EXPECT_DOUBLE_EQ(curriculum_reward(0.0), 0.0);
}

// --- normalisation ------------------------------------------------------------------

TEST(Normalise, StemsAndSplitsPunctuation) {
  EXPECT_EQ(normalise_words("Level-of-Detail!"), (std::vector<std::string>{"level", "of", "detail"}));
  EXPECT_EQ(stem("details"), stem("detailed"));
  EXPECT_EQ(stem("conciseness"), stem("concise"));
  EXPECT_EQ(stem("concisely"), stem("concise"));
  EXPECT_EQ(stem("summaries"), stem("summary"));
  EXPECT_EQ(stem("formatting"), stem("format"));
  EXPECT_EQ(stem("structured"), stem("structure"));
  EXPECT_EQ(stem("friendliness"), stem("friendly"));
  EXPECT_EQ(stem("analysis"), "analysis");
  EXPECT_NE(stem("formal"), stem("format"));
  EXPECT_NE(stem("warning"), stem("warm"));
}

TEST(Synonyms, DefaultTableJoinsThePersonaWorldCriteria) {
  RuleScorer rs;
  const std::vector<std::pair<std::string, std::vector<std::string>>> groups = {
      {"brevity", {"Concise", "short answers", "succinctness", "response length", "to-the-point"}},
      {"depth", {"Level of detail", "thoroughness", "comprehensive coverage", "in-depth"}},
      {"structure", {"Organization", "formatting", "clarity", "well-organized", "step by step"}},
      {"warmth", {"Empathy", "friendliness", "kind tone"}},  // "kind tone" also formality: fine
      {"formality", {"Professional", "politeness", "formal register"}},
      {"creativity", {"Originality", "imaginative", "novel ideas"}},
      {"caution", {"Safety", "carefulness", "risk awareness"}},
      {"practicality", {"Actionable advice", "usefulness", "practical"}},
  };
  for (const auto& [concept_name, synonyms] : groups) {
    EXPECT_TRUE(rs.matches(concept_name, concept_name));
    for (const std::string& s : synonyms) EXPECT_TRUE(rs.matches(s, concept_name)) << s << " ~ " << concept_name;
  }
  // The groups stay apart.
  for (const auto& a : groups) {
    for (const auto& b : groups) {
      if (a.first != b.first) {
        EXPECT_FALSE(rs.matches(a.first, b.first)) << a.first << " vs " << b.first;
      }
    }
  }
}

TEST(Synonyms, GenericWordsDoNotMatch) {
  RuleScorer rs;
  EXPECT_FALSE(rs.matches("response quality", "overall quality of the response"));
  EXPECT_FALSE(rs.matches("humor", "brevity"));
  EXPECT_FALSE(rs.matches("humor", "Humour?"));  // no spelling variants beyond the stemmer
  EXPECT_TRUE(rs.matches("Humor", "humor"));             // but unknown words match themselves
}

TEST(Synonyms, ConfigurableAndConflictsAreErrors) {
  SynonymTable t = SynonymTable::from_json(R"({"humor": ["funny", "witty", "jokes"], "brevity": ["short"]})");
  RuleScorer rs(t);
  EXPECT_TRUE(rs.matches("a witty reply", "Humor"));
  EXPECT_TRUE(rs.matches("Funny", "jokes"));
  EXPECT_FALSE(rs.matches("concise", "brevity"));  // not in this table
  EXPECT_THROW(SynonymTable::from_json(R"({"a": ["short"], "b": ["shorts"]})"), Error);
  EXPECT_THROW(SynonymTable::from_json("[1, 2]"), Error);
  EXPECT_THROW(SynonymTable::from_json(R"({"a": "short"})"), Error);
  EXPECT_THROW(SynonymTable::from_json("{"), Error);
}

// --- rule-based PR -------------------------------------------------------------------

TEST(RulePR, NoUserCriteriaIsZero) {
  RuleScorer rs;
  EXPECT_EQ(rs.score({}, example_chain().criteria), kNoUserCriteriaReward);
  EXPECT_EQ(kNoUserCriteriaReward, 0.0);
}

TEST(RulePR, FullCoverageWithTheUsersWeightsIsOne) {
  RuleScorer rs;
  EXPECT_DOUBLE_EQ(rs.score({{"brevity", 2.0}, {"depth", 3.0}}, {{"brevity", 40}, {"depth", 60}}), 1.0);
  // Synonyms count as coverage.
  EXPECT_DOUBLE_EQ(rs.score({{"Concise answers", 1.0}, {"empathy", 1.0}}, {{"brevity", 50}, {"Warmth", 50}}), 1.0);
}

TEST(RulePR, UnrelatedCriteriaGiveZero) {
  RuleScorer rs;
  EXPECT_EQ(rs.score({{"humor", 1.0}, {"accuracy", 1.0}}, {{"brevity", 50}, {"warmth", 50}}), 0.0);
  EXPECT_EQ(rs.score({{"brevity", 1.0}}, {}), 0.0);
}

TEST(RulePR, UserWeightsDecideWhichCoverageCounts) {
  RuleScorer rs(SynonymTable::defaults(), /*weight_sensitivity=*/0.0);  // pure weighted coverage
  const std::vector<UserCriterion> user = {{"brevity", 0.8}, {"warmth", 0.2}};
  EXPECT_DOUBLE_EQ(rs.score(user, {{"concise", 100}}), 0.8);
  EXPECT_DOUBLE_EQ(rs.score(user, {{"friendly", 100}}), 0.2);
  // All-zero weights mean equal weights.
  EXPECT_DOUBLE_EQ(rs.score({{"brevity", 0.0}, {"warmth", 0.0}}, {{"concise", 100}}), 0.5);
}

TEST(RulePR, ChainWeightsCloseToTheUsersEarnMore) {
  RuleScorer rs;  // λ = 0.5
  const std::vector<UserCriterion> user = {{"brevity", 1.0}, {"warmth", 1.0}};
  // ĉ = 0.5 / 0.5: closeness 1 → PR 1.
  EXPECT_DOUBLE_EQ(rs.score(user, {{"concise", 50}, {"friendly", 50}}), 1.0);
  // ĉ = 0.9 / 0.1: closeness 0.6 each → credit 0.5 + 0.5·0.6 = 0.8.
  EXPECT_NEAR(rs.score(user, {{"concise", 90}, {"friendly", 10}}), 0.8, 1e-12);
  // Only brevity, with all the weight: 0.5 · (0.5 + 0.5 · 0.5) = 0.375.
  EXPECT_NEAR(rs.score(user, {{"concise", 100}}), 0.375, 1e-12);
  // Extra chain criteria take weight away but are not penalised otherwise.
  EXPECT_NEAR(rs.score(user, {{"concise", 30}, {"friendly", 30}, {"accuracy", 40}}), 0.9, 1e-12);
}

TEST(RulePR, StaysInTheUnitIntervalForRandomInputs) {
  std::mt19937_64 rng(3);
  const std::vector<std::string> names = {"brevity", "concise", "depth", "detail", "warmth", "humor",
                                          "tone", "format", "safety", "usefulness", "novelty", "accuracy"};
  for (double lambda : {0.0, 0.5, 1.0}) {
    RuleScorer rs(SynonymTable::defaults(), lambda);
    for (int i = 0; i < 2000; ++i) {
      std::vector<UserCriterion> user(1 + rng() % 5);
      for (auto& u : user) u = {names[rng() % names.size()], static_cast<double>(rng() % 10)};
      std::vector<Criterion> chain;
      for (int w : testing::random_weights(rng, 1 + rng() % 5)) chain.push_back({names[rng() % names.size()], w});
      double pr = rs.score(user, chain);
      ASSERT_GE(pr, 0.0);
      ASSERT_LE(pr, 1.0);
    }
  }
}

TEST(RulePR, BadUserWeightsAndLambdaAreErrors) {
  RuleScorer rs;
  EXPECT_THROW(rs.score({{"brevity", -1.0}}, {{"brevity", 100}}), Error);
  EXPECT_THROW(rs.score({{"brevity", std::nan("")}}, {{"brevity", 100}}), Error);
  EXPECT_THROW(RuleScorer(SynonymTable::defaults(), 1.5), Error);
}

TEST(RulePR, ProcessRewardOfAParse) {
  RuleScorer rs;
  const std::vector<UserCriterion> user = {{"short answers", 0.4}, {"level of detail", 0.6}};
  EXPECT_DOUBLE_EQ(process_reward(rs, user, parse(example_text(), 2)), 1.0);
  EXPECT_EQ(process_reward(rs, user, parse("junk", 2)), 0.0);
}

}  // namespace
}  // namespace pgenrm::chain
