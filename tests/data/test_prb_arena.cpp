// PersonalRewardBench (data/prb.h) and Chatbot Arena (data/arena.h) loaders
// on hand-written fixtures, and convert's directory read back through
// data::read_dataset.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "data/arena.h"
#include "data/convert.h"
#include "data/io.h"
#include "data/prb.h"
#include "data/prism.h"
#include "tests/data/helpers.h"
#include "tests/data/real_helpers.h"

namespace pgenrm::data {
namespace {

using testing::fixture;
using testing::pair_by_id;
using testing::skipped_at;
using testing::user_by_id;

PrbData load_prb_fixture(const LoadOptions& o = {}) { return load_prb(prb_files({fixture("prb")}), o); }

const PrbTestItem* item(const PrbData& d, const std::string& id) {
  for (const auto& t : d.test)
    if (t.pair_id == id) return &t;
  return nullptr;
}

TEST(Prb, RowsBecomePairsWithTheirSplits) {
  const PrbData d = load_prb_fixture();
  EXPECT_TRUE(d.data.report.skipped.empty());
  ASSERT_EQ(d.data.dataset.pairs.size(), 8u);
  // A repeated conversation_id (two pairs of one turn) is numbered.
  ASSERT_NE(pair_by_id(d.data.dataset, "k2#2"), nullptr);
  EXPECT_EQ(pair_by_id(d.data.dataset, "k2#2")->rejected, "Crypto!");
  const Pair* k2 = pair_by_id(d.data.dataset, "k2");
  EXPECT_FALSE(k2->chosen_score.has_value());  // NaN
  EXPECT_FALSE(k2->rejected_score.has_value());  // null
  EXPECT_EQ(pair_by_id(d.data.dataset, "k3")->split, Split::kVal);  // "validation"
  EXPECT_EQ(pair_by_id(d.data.dataset, "k3")->chosen, "Rain on the roof, a soft applause...");  // bare string
  EXPECT_EQ(pair_by_id(d.data.dataset, "k3")->context.size(), 3u);
  EXPECT_EQ(pair_by_id(d.data.dataset, "k1")->scenario, "unguided");
  const auto st = dataset_stats(d.data.dataset);
  EXPECT_EQ(st.pairs_by_split[0], 4);
  EXPECT_EQ(st.pairs_by_split[1], 1);
  EXPECT_EQ(st.pairs_by_split[2], 3);
  EXPECT_EQ(st.users, 3);
}

TEST(Prb, ThreeHistoryPairsPerTestPairSeededFromTrainAndVal) {
  const PrbData d = load_prb_fixture();
  ASSERT_EQ(d.test.size(), 3u);
  const PrbTestItem* k4 = item(d, "k4");
  ASSERT_NE(k4, nullptr);
  ASSERT_EQ(k4->history.size(), 3u);  // of 4 candidates: k1, k2, k2#2, k3
  const std::set<std::string> allowed = {"k1", "k2", "k2#2", "k3"};
  for (const auto& h : k4->history) EXPECT_TRUE(allowed.contains(h)) << h;
  EXPECT_EQ(std::set<std::string>(k4->history.begin(), k4->history.end()).size(), 3u);
  // Same seed, same draw; the draw is that of data::sample_history.
  EXPECT_EQ(load_prb_fixture().test[0].history, d.test[0].history);
  bool differs = false;
  for (uint64_t s = 1; s < 20 && !differs; ++s) {
    LoadOptions o;
    o.seed = s;
    differs = load_prb_fixture(o).test[0].history != k4->history;
  }
  EXPECT_TRUE(differs) << "the seed never changes the sampled history";
  LoadOptions h1;
  h1.history = 1;
  EXPECT_EQ(item(load_prb_fixture(h1), "k4")->history.size(), 1u);
}

TEST(Prb, UsersWithoutTrainRowsGetAnEmptyHistory) {
  const PrbData d = load_prb_fixture();
  const PrbTestItem* k6 = item(d, "k6");
  ASSERT_NE(k6, nullptr);
  EXPECT_TRUE(k6->history.empty());
  EXPECT_EQ(d.data.report.notes.at("test_pairs_with_empty_history"), 1);
  EXPECT_TRUE(user_by_id(d.data.dataset, "u2")->cold_start);
}

TEST(Prb, FlipSetsThePresentationOrderNeverTheLabel) {
  const PrbData d = load_prb_fixture();
  EXPECT_EQ(item(d, "k4")->order, (std::vector<int>{1, 0}));
  EXPECT_EQ(item(d, "k5")->order, (std::vector<int>{0, 1}));
  EXPECT_EQ(item(d, "k6")->order, (std::vector<int>{1, 0}));
  EXPECT_EQ(pair_by_id(d.data.dataset, "k4")->chosen, "Shakshuka in 20 minutes.");
  EXPECT_TRUE(d.data.extras.at("k4").flip);
  EXPECT_FALSE(d.data.extras.contains("k7"));  // "flip": null
}

TEST(Prb, APrismSurveyAddsStatedCriteria) {
  const PrbData d = load_prb_text(
      R"({"user_id": "u1", "conversation_id": "k", "context": [{"content": "q", "role": "user"}], "chosen": "a", "rejected": "b", "split": "train"})",
      LoadOptions{},
      R"({"user_id": "u1", "system_string": "Short answers.", "stated_prefs": {"factuality": 90, "safety": NaN}})");
  const User* u = user_by_id(d.data.dataset, "u1");
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->stated, (std::vector<StatedCriterion>{{"factuality", 90}}));
  EXPECT_EQ(u->system_string, "Short answers.");
}

TEST(Prb, BadRowsAreSkippedWithFileLineAndReason) {
  const PrbData d = load_prb(prb_files({fixture("prb_bad")}), LoadOptions{});
  const auto& r = d.data.report;
  EXPECT_NE(skipped_at(r, "rows.jsonl", 2).find("rows.jsonl:2: not valid JSON"), std::string::npos);
  EXPECT_NE(skipped_at(r, "rows.jsonl", 3).find("rows.jsonl:3: missing key \"split\" [missing_field]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "rows.jsonl", 4).find("rows.jsonl:4: \"context\" must be a list, not string [wrong_type]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "rows.jsonl", 5).find("rows.jsonl:5: duplicate row: user_id \"u1\", conversation_id \"k1\""),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "rows.jsonl", 6).find("\"split\" must be train, val, validation or test, not \"holdout\" [bad_value]"),
            std::string::npos);
  EXPECT_EQ(r.skipped.size(), 5u);
  EXPECT_EQ(d.data.dataset.pairs.size(), 2u);
  LoadOptions strict;
  strict.strict = true;
  const std::string e = testing::error_of([&] { load_prb(prb_files({fixture("prb_bad")}), strict); });
  EXPECT_NE(e.find("rows.jsonl:2: not valid JSON"), std::string::npos) << e;
}

TEST(Arena, WinnerPicksChosenAndTiesAreDroppedAndCounted) {
  const RealData d = load_arena({fixture("arena")}, LoadOptions{});
  EXPECT_TRUE(d.report.skipped.empty());
  ASSERT_EQ(d.dataset.pairs.size(), 3u);
  const Pair* q1 = pair_by_id(d.dataset, "q1");
  ASSERT_NE(q1, nullptr);
  EXPECT_EQ(q1->user_id, "arena_user_1");  // judge is the user
  EXPECT_EQ(q1->chosen, "A monoid in the category of endofunctors, explained simply...");
  EXPECT_EQ(q1->rejected, "A kind of burrito.");
  EXPECT_EQ(d.extras.at("q1").model_chosen, "gpt-4");
  EXPECT_EQ(d.report.filtered.at("tie"), 1);
  EXPECT_EQ(d.report.filtered.at("tie (bothbad)"), 1);
  // A judge whose only votes were ties is still a user, with no pairs.
  ASSERT_NE(user_by_id(d.dataset, "arena_user_2"), nullptr);
  EXPECT_EQ(d.dataset.users.size(), 3u);
  EXPECT_EQ(pair_by_id(d.dataset, "q5")->query(), "Tell me a joke in fran\xc3\xa7" "ais.");
}

TEST(Arena, MultiTurnContextKeepsEveryUserTurnAndTheWinnersReplies) {
  const RealData d = load_arena({fixture("arena")}, LoadOptions{});
  const Pair* q2 = pair_by_id(d.dataset, "q2");
  ASSERT_NE(q2, nullptr);
  const std::vector<Message> want = {{"user", "Name a fruit."},
                                     {"assistant", "Mango, sweet and tropical."},  // model_b won
                                     {"user", "Another one?"}};
  EXPECT_EQ(q2->context, want);
  EXPECT_EQ(q2->chosen, "Lychee, fragrant and juicy.");
  EXPECT_EQ(q2->rejected, "Banana.");
  EXPECT_EQ(d.report.notes.at("multi_turn_votes"), 1);
}

TEST(Arena, BadRowsAreSkippedWithFileLineAndReason) {
  const RealData d = load_arena({fixture("arena_bad")}, LoadOptions{});
  const auto& r = d.report;
  EXPECT_NE(skipped_at(r, "arena.jsonl", 2).find("arena.jsonl:2: not valid JSON"), std::string::npos);
  EXPECT_NE(skipped_at(r, "arena.jsonl", 3).find("arena.jsonl:3: missing key \"judge\" [missing_field]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "arena.jsonl", 4).find("arena.jsonl:4: \"winner\" must be a string, not number [wrong_type]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "arena.jsonl", 5).find("arena.jsonl:5: duplicate question_id \"q1\" (first at "),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "arena.jsonl", 6).find("\"winner\" must be model_a, model_b, tie or tie (bothbad), not \"model_c\""),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "arena.jsonl", 7).find("different user messages [bad_value]"), std::string::npos);
  EXPECT_EQ(r.skipped.size(), 6u);
  EXPECT_EQ(d.dataset.pairs.size(), 1u);
}

TEST(Convert, AConvertedDirectoryReadsBackThroughReadDataset) {
  const RealData prism = load_prism(prism_files({fixture("prism")}), LoadOptions{});
  const auto dir = testing::temp_dir("convert_prism");
  write_real_dir(dir, prism);
  const Dataset back = read_dataset(dir);
  EXPECT_EQ(back.pairs, prism.dataset.pairs);
  for (const User& u : prism.dataset.users) {
    const User* b = user_by_id(back, u.user_id);
    if (!u.has_stated_criteria() && !b) continue;  // survey-only user without criteria: not written
    ASSERT_NE(b, nullptr) << u.user_id;
    EXPECT_EQ(b->stated, u.stated) << u.user_id;
    EXPECT_EQ(b->system_string, u.system_string) << u.user_id;
  }
  EXPECT_EQ(read_pair_extras(dir + "/pair_extras.jsonl"), prism.extras);
  EXPECT_TRUE(std::filesystem::exists(dir + "/load_report.json"));

  const PrbData prb = load_prb(prb_files({fixture("prb")}), LoadOptions{});
  const auto dir2 = testing::temp_dir("convert_prb");
  write_real_dir(dir2, prb.data, &prb.test);
  EXPECT_EQ(read_dataset(dir2).pairs, prb.data.dataset.pairs);
  EXPECT_TRUE(std::filesystem::exists(dir2 + "/prb_test.jsonl"));
}

}  // namespace
}  // namespace pgenrm::data
