// PRISM raw loader (data/prism.h) on hand-written fixtures
// (tests/data/fixtures/prism*/): pair extraction and the 10-point filter
// against hand counts, every tolerated quirk, and the bad-row messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "data/prism.h"
#include "tests/data/real_helpers.h"

namespace pgenrm::data {
namespace {

using testing::fixture;
using testing::pair_by_id;
using testing::skipped_at;
using testing::user_by_id;

RealData load_fixture() {
  return load_prism(prism_files({fixture("prism")}), LoadOptions{});
}

// c0 by hand: turn 0 scores 80/75/40/10 → 6 pairs, (80,75) gap 5 dropped →
// 5; turn 1 scores 55/64 gap 9 → dropped; turn 2 90/20 → 1; turn 3 null/NaN
// → unscored. c1: 60/55/50 → only (60,50), gap exactly 10, kept. c2: 1.
TEST(Prism, PairExtractionAndTenPointFilterMatchHandCounts) {
  const RealData d = load_fixture();
  std::set<std::string> ids;
  for (const Pair& p : d.dataset.pairs) ids.insert(p.pair_id);
  const std::set<std::string> want = {"c0-t0-0v2", "c0-t0-0v3", "c0-t0-1v2", "c0-t0-1v3",
                                      "c0-t0-2v3", "c0-t2-0v1", "c1-t0-0v2", "c2-t0-0v1"};
  EXPECT_EQ(ids, want);
  EXPECT_EQ(d.report.filtered.at("score_gap_below_10"), 4);  // c0: 5 and 9; c1: 5 and 5
  EXPECT_EQ(d.report.filtered.at("unscored_response"), 2);   // null and NaN
  EXPECT_TRUE(d.report.skipped.empty()) << d.report.skipped.front().message;
  // Chosen is the higher score whatever the within-turn order.
  const Pair* p = pair_by_id(d.dataset, "c0-t0-1v3");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->chosen, "Le Procope is historic.");
  EXPECT_EQ(p->rejected, "I cannot help with that.");
  EXPECT_EQ(p->chosen_score, 75);
  EXPECT_EQ(p->rejected_score, 10);
  // A gap of exactly 10 is kept; string within_turn_ids order numerically.
  p = pair_by_id(d.dataset, "c1-t0-0v2");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->chosen, "Money buys less over time.");
  EXPECT_EQ(p->rejected, "Prices rise.");
}

TEST(Prism, AMinimumGapOfZeroKeepsEveryUnequalPair) {
  LoadOptions o;
  o.min_score_gap = 0;
  const RealData d = load_prism(prism_files({fixture("prism")}), o);
  // c0: 6 + 1 + 1; c1: 3; c2: 1.
  EXPECT_EQ(d.dataset.pairs.size(), 12u);
  EXPECT_FALSE(d.report.filtered.contains("score_gap_below_10"));
}

TEST(Prism, ContextIsTheConversationSoFarWithTheChosenReplies) {
  const RealData d = load_fixture();
  const Pair* p = pair_by_id(d.dataset, "c0-t2-0v1");
  ASSERT_NE(p, nullptr);
  const std::vector<Message> want = {{"user", "Where should I eat in Paris? I like caf\xc3\xa9s"},
                                     {"assistant", "Try Caf\xc3\xa9 de Flore."},
                                     {"user", "Something cheaper?"},
                                     {"assistant", "Bouillon Chartier."},
                                     {"user", "Is it open on Sunday?"}};
  EXPECT_EQ(p->context, want);  // \u escapes decoded to UTF-8
  EXPECT_EQ(p->query(), "Is it open on Sunday?");
  EXPECT_EQ(p->scenario, "unguided");
}

TEST(Prism, EmptyStringIsReadAsEmptyAndSeveralIfChosenAreTolerated) {
  const RealData d = load_fixture();
  const Pair* p = pair_by_id(d.dataset, "c0-t2-0v1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->chosen, "Yes, every day.");
  EXPECT_EQ(p->rejected, "");  // "EMPTY STRING"
  EXPECT_EQ(d.report.notes.at("turns_with_several_if_chosen"), 1);
}

TEST(Prism, StatedPrefsAndSystemStringBecomeExplicitCriteria) {
  const RealData d = load_fixture();
  const User* u0 = user_by_id(d.dataset, "user0");
  ASSERT_NE(u0, nullptr);
  const std::vector<StatedCriterion> want = {{"factuality", 90}, {"helpfulness", 80}, {"fluency", 75},
                                             {"personalisation", 75}, {"humour", 60}, {"values", 40},
                                             {"creativity", 20}};
  EXPECT_EQ(u0->stated, want);  // null and NaN left out; "other" named by other_text
  EXPECT_EQ(u0->system_string, "Be concise and friendly.");
  const User* u1 = user_by_id(d.dataset, "user1");
  ASSERT_NE(u1, nullptr);
  EXPECT_EQ(u1->stated, (std::vector<StatedCriterion>{{"helpfulness", 100}, {"safety", 30}}));
  EXPECT_EQ(u1->system_string, "");  // "EMPTY STRING"
  const User* u2 = user_by_id(d.dataset, "user2");
  ASSERT_NE(u2, nullptr);
  EXPECT_FALSE(u2->has_stated_criteria());
  // A conversation's user missing from the survey still gets a User.
  ASSERT_NE(user_by_id(d.dataset, "user9"), nullptr);
  EXPECT_EQ(d.report.notes.at("users_not_in_survey"), 1);
}

TEST(Prism, KeyOrderDoesNotMatter) {
  const std::string a =
      R"({"user_id": "u", "system_string": "s", "stated_prefs": {"values": 10, "safety": 10, "fluency": 90}})";
  const std::string b =
      R"({"stated_prefs": {"fluency": 90, "safety": 10, "values": 10}, "system_string": "s", "user_id": "u"})";
  const std::string conv_a =
      R"({"conversation_id": "c", "user_id": "u", "conversation_history": [{"turn": 0, "role": "user", "content": "q"}, {"turn": 0, "role": "model", "content": "x", "score": 90, "within_turn_id": 0}, {"turn": 0, "role": "model", "content": "y", "score": 10, "within_turn_id": 1}]})";
  const std::string conv_b =
      R"({"conversation_history": [{"content": "q", "role": "user", "turn": 0}, {"within_turn_id": 1, "score": 10, "content": "y", "role": "model", "turn": 0}, {"within_turn_id": 0, "score": 90, "content": "x", "role": "model", "turn": 0}], "user_id": "u", "conversation_id": "c"})";
  const RealData x = load_prism_text(a, conv_a, "", {});
  const RealData y = load_prism_text(b, conv_b, "", {});
  EXPECT_EQ(x.dataset.users, y.dataset.users);
  EXPECT_EQ(x.dataset.pairs, y.dataset.pairs);
  ASSERT_EQ(x.dataset.users.size(), 1u);
  // Equal weights break by name: safety before values.
  EXPECT_EQ(x.dataset.users[0].stated[1].name, "safety");
}

TEST(Prism, ChoiceAttributesAreKeptForEveryPairOfTheConversation) {
  const RealData d = load_fixture();
  const std::map<std::string, double> want = {{"creativity", 80}, {"diversity", 30}, {"helpfulness", 90},
                                              {"safety", 55}, {"values", 70}};
  for (const char* id : {"c0-t0-0v2", "c0-t2-0v1"}) {
    ASSERT_TRUE(d.extras.contains(id)) << id;
    EXPECT_EQ(d.extras.at(id).choice_attributes, want) << id;  // null and NaN left out
  }
  EXPECT_EQ(d.extras.at("c0-t0-1v3").model_chosen, "m-b");
  EXPECT_EQ(d.extras.at("c0-t0-1v3").model_rejected, "m-d");
  EXPECT_TRUE(d.extras.at("c1-t0-0v2").choice_attributes.empty());  // "choice_attributes": null
}

TEST(Prism, UtterancesGiveTheSamePairsAsConversations) {
  const RealData conv = load_fixture();
  const RealData utt = load_prism(prism_files({fixture("prism_utterances")}), LoadOptions{});
  EXPECT_TRUE(utt.report.skipped.empty());
  std::vector<Pair> from_conv;
  for (const Pair& p : conv.dataset.pairs)
    if (p.pair_id.rfind("c0-", 0) == 0) {
      Pair q = p;
      q.scenario.clear();  // utterances carry no conversation_type
      from_conv.push_back(q);
    }
  ASSERT_EQ(utt.dataset.pairs.size(), 6u);
  EXPECT_EQ(utt.dataset.pairs, from_conv);
  EXPECT_EQ(utt.report.filtered.at("score_gap_below_10"), 2);
}

TEST(Prism, BadRowsAreSkippedWithFileLineAndReason) {
  const RealData d = load_prism(prism_files({fixture("prism_bad")}), LoadOptions{});
  const auto& r = d.report;
  EXPECT_NE(skipped_at(r, "conversations.jsonl", 2).find("conversations.jsonl:2: not valid JSON"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "conversations.jsonl", 3).find(
                "conversations.jsonl:3: missing key \"conversation_history\" [missing_field]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "conversations.jsonl", 4).find(
                "conversations.jsonl:4: \"conversation_history\" must be a list, not string [wrong_type]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "conversations.jsonl", 5).find(
                "conversations.jsonl:5: duplicate conversation_id \"c0\" (first at "),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "conversations.jsonl", 6).find(
                "conversation_history[1]: \"score\" must be 1..100 or null, not 150 [bad_value]"),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "survey.jsonl", 2).find("duplicate user_id \"user0\" (first at "),
            std::string::npos);
  EXPECT_NE(skipped_at(r, "survey.jsonl", 3).find("stated_prefs.values must be a number 0..100 or null, not string"),
            std::string::npos);
  EXPECT_EQ(r.skipped.size(), 7u);
  const auto by = r.skipped_by_reason();
  EXPECT_EQ(by.at(kMalformedJson), 1);
  EXPECT_EQ(by.at(kMissingField), 1);
  EXPECT_EQ(by.at(kWrongType), 2);
  EXPECT_EQ(by.at(kDuplicateId), 2);
  EXPECT_EQ(by.at(kBadValue), 1);
  // The good rows around them still load: c0 and c6, one pair each.
  EXPECT_EQ(d.dataset.pairs.size(), 2u);
  EXPECT_EQ(r.rows, 3 + 7);  // the blank line is not a row
  EXPECT_EQ(r.rows_used, 3);
}

TEST(Prism, StrictMakesTheFirstBadRowFatal) {
  LoadOptions o;
  o.strict = true;
  const std::string e = testing::error_of([&] { load_prism(prism_files({fixture("prism_bad")}), o); });
  EXPECT_NE(e.find("survey.jsonl:2: duplicate user_id"), std::string::npos) << e;
  EXPECT_NE(e.find("--strict"), std::string::npos) << e;  // the hint says how to get past it
}

TEST(Prism, UtteranceRowsThatContradictEachOtherAreSkipped) {
  const std::string rows =
      R"({"utterance_id": "a", "conversation_id": "c", "user_id": "u", "turn": 0, "within_turn_id": 0, "user_prompt": "q", "model_response": "x", "score": 90, "if_chosen": true})"
      "\n"
      R"({"utterance_id": "b", "conversation_id": "c", "user_id": "u", "turn": "0", "within_turn_id": "0", "user_prompt": "q", "model_response": "y", "score": 10})"
      "\n"
      R"({"utterance_id": "a", "conversation_id": "c", "user_id": "u", "turn": 0, "within_turn_id": 1, "user_prompt": "q", "model_response": "y", "score": 10})"
      "\n"
      R"({"utterance_id": "d", "conversation_id": "c", "user_id": "v", "turn": 0, "within_turn_id": 2, "user_prompt": "q", "model_response": "y", "score": 10})"
      "\n"
      R"({"utterance_id": "e", "conversation_id": "c", "user_id": "u", "turn": 0, "within_turn_id": 3, "user_prompt": "q", "model_response": "z", "score": 20})";
  const RealData d = load_prism_text("", "", rows, {});
  // Same (conversation, turn, within_turn_id) once as ints, once as strings.
  EXPECT_NE(skipped_at(d.report, "utterances.jsonl", 2).find("duplicate (conversation_id, turn, within_turn_id)"),
            std::string::npos);
  EXPECT_NE(skipped_at(d.report, "utterances.jsonl", 3).find("duplicate utterance_id \"a\""), std::string::npos);
  EXPECT_NE(skipped_at(d.report, "utterances.jsonl", 4).find("belongs to user \"u\", not \"v\""),
            std::string::npos);
  ASSERT_EQ(d.dataset.pairs.size(), 1u);  // rows 1 and 5: 90 vs 20
  EXPECT_EQ(d.dataset.pairs[0].pair_id, "c-t0-0v3");
}

TEST(Prism, CrlfLineEndsAndBlankLinesReadAsLf) {
  const std::string conv = R"({"conversation_id": "c", "user_id": "u", "conversation_history": [{"turn": 0, "role": "user", "content": "q"}, {"turn": 0, "role": "model", "content": "x", "score": 90, "within_turn_id": 0}, {"turn": 0, "role": "model", "content": "y", "score": 10, "within_turn_id": 1}]})";
  const RealData lf = load_prism_text("", conv + "\n", "", {});
  const RealData crlf = load_prism_text("", "\r\n" + conv + "\r\n\r\n", "", {});
  EXPECT_EQ(lf.dataset.pairs, crlf.dataset.pairs);
  EXPECT_TRUE(crlf.report.skipped.empty());
  // A row that is JSON but not an object is its own reason.
  const RealData arr = load_prism_text("", "[1, 2]\n" + conv, "", {});
  EXPECT_NE(skipped_at(arr.report, "conversations.jsonl", 1).find("a row must be a JSON object, not array [not_object]"),
            std::string::npos);
  EXPECT_EQ(arr.dataset.pairs.size(), 1u);
}

TEST(Prism, SplitsAreWholeConversationsSeededPerUser) {
  std::vector<std::pair<std::string, std::string>> units;
  for (int u = 0; u < 30; ++u)
    for (int c = 0; c < 10; ++c) units.emplace_back("u" + std::to_string(u), "c" + std::to_string(c));
  LoadOptions o;
  const auto a = assign_splits(units, o);
  auto reversed = units;
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(assign_splits(reversed, o), a);  // file order does not matter
  int counts[3] = {0, 0, 0};
  for (const auto& [k, s] : a) ++counts[static_cast<int>(s)];
  EXPECT_EQ(counts[static_cast<int>(Split::kTest)], 30 * 2);
  EXPECT_EQ(counts[static_cast<int>(Split::kVal)], 30 * 1);
  o.seed = 99;
  EXPECT_NE(assign_splits(units, o), a);
  // One conversation: train (it is history for nothing else, but never test
  // with no history); two: one train, one test.
  const auto one = assign_splits({{"x", "c"}, {"y", "c1"}, {"y", "c2"}}, LoadOptions{});
  EXPECT_EQ(one.at({"x", "c"}), Split::kTrain);
  EXPECT_NE(one.at({"y", "c1"}), one.at({"y", "c2"}));
}

}  // namespace
}  // namespace pgenrm::data
