// History sampling and prompt rendering, including the closed vocabulary:
// every prompt and teacher chain encodes without <unk>.
#include <gtest/gtest.h>

#include <set>

#include "chain/parse.h"
#include "core/error.h"
#include "data/generate.h"
#include "data/history.h"
#include "data/io.h"
#include "data/personaworld.h"
#include "data/prompt.h"
#include "data/vocab.h"
#include "model/tokenizer.h"
#include "tests/data/helpers.h"

namespace pgenrm::data {
namespace {

class HistoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_ = new GeneratedWorld(generate_world(testing::small_world(200, 17)));
  }
  static void TearDownTestSuite() { delete g_; }
  static const Dataset& ds() { return g_->dataset; }
  static GeneratedWorld* g_;
};
GeneratedWorld* HistoryTest::g_ = nullptr;

TEST_F(HistoryTest, DeterministicExcludesTheEvaluatedPairAndHonoursH) {
  HistoryOptions o;
  int64_t differs = 0;
  for (const Pair& p : ds().pairs) {
    const History a = sample_history(ds(), p, o, 1), b = sample_history(ds(), p, o, 1);
    EXPECT_EQ(a, b);
    differs += a != sample_history(ds(), p, o, 2);
    EXPECT_LE(a.size(), 3u);
    std::set<const Pair*> seen;
    for (const Pair* h : a) {
      EXPECT_NE(h->pair_id, p.pair_id);
      EXPECT_EQ(h->user_id, p.user_id);
      EXPECT_NE(h->split, Split::kTest);
      EXPECT_TRUE(seen.insert(h).second) << "a pair shown twice";
    }
    const User& u = ds().user_of(p);
    if (!u.cold_start) EXPECT_EQ(a.size(), 3u);  // warm users have 7 candidates
  }
  EXPECT_GT(differs, 0) << "the seed does not change the history";
  for (const Pair& p : ds().pairs) {
    const size_t u = ds().user_index(p.user_id);
    size_t candidates =
        ds().user_pairs(u, Split::kTrain).size() + ds().user_pairs(u, Split::kVal).size();
    if (p.split != Split::kTest) --candidates;
    for (int64_t h : {0, 1, 5}) {
      o.h = h;
      EXPECT_EQ(sample_history(ds(), p, o, 1).size(), std::min<size_t>(size_t(h), candidates));
    }
  }
}

TEST_F(HistoryTest, ColdStartUsersGetAtMostOnePairOrNoneWhenAsked) {
  HistoryOptions o;
  int64_t cold_pairs = 0;
  for (const Pair& p : ds().pairs) {
    if (!ds().user_of(p).cold_start) continue;
    ++cold_pairs;
    EXPECT_LE(sample_history(ds(), p, o, 1).size(), 1u);
    o.empty_for_cold_start = true;
    EXPECT_TRUE(sample_history(ds(), p, o, 1).empty());
    o.empty_for_cold_start = false;
  }
  EXPECT_GT(cold_pairs, 0);
}

TEST_F(HistoryTest, TrainOnlyAndSameScenarioPreference) {
  HistoryOptions o;
  o.include_val = false;
  o.h = 100;
  for (const Pair& p : ds().pairs)
    for (const Pair* h : sample_history(ds(), p, o, 1)) EXPECT_EQ(h->split, Split::kTrain);
  o.include_val = true;
  o.prefer_same_scenario = true;
  for (const Pair& p : ds().pairs) {
    const History h = sample_history(ds(), p, o, 1);
    bool other_seen = false;  // same-scenario pairs come first
    for (const Pair* x : h) {
      if (x->scenario != p.scenario)
        other_seen = true;
      else
        EXPECT_FALSE(other_seen) << p.pair_id;
    }
  }
}

TEST_F(HistoryTest, PsiShowsStatedCriteriaCreDoesNotAndOrderIsFollowed) {
  const Pair* with = nullptr;
  for (const Pair& p : ds().pairs)
    if (ds().user_of(p).has_stated_criteria() && !ds().user_of(p).cold_start) with = &p;
  ASSERT_NE(with, nullptr);
  const User& u = ds().user_of(*with);
  const History h = sample_history(ds(), *with, {}, 1);
  const std::string psi = render_prompt(PromptKind::kPsi, u, h, *with, {1, 0});
  const std::string cre = render_prompt(PromptKind::kCre, u, h, *with, {1, 0});
  const std::string stated = stated_criteria_text(u);
  EXPECT_NE(psi.find("Stated criteria: " + stated), std::string::npos) << psi;
  EXPECT_EQ(cre.find("Stated criteria"), std::string::npos) << cre;
  EXPECT_EQ(cre.find(stated), std::string::npos) << cre;
  EXPECT_NE(psi.find("Response 1: " + with->rejected + "\nResponse 2: " + with->chosen),
            std::string::npos);
  const std::string kept = render_prompt(PromptKind::kPsi, u, h, *with, {0, 1});
  EXPECT_NE(kept.find("Response 1: " + with->chosen + "\nResponse 2: " + with->rejected),
            std::string::npos);
  for (const Pair* x : h)
    EXPECT_NE(cre.find("Chosen: " + x->chosen + " Rejected: " + x->rejected), std::string::npos);
  EXPECT_THROW(render_prompt(PromptKind::kPsi, u, h, *with, {0, 0}), Error);
  EXPECT_THROW(render_prompt(PromptKind::kPsi, u, h, *with, {0}), Error);
}

TEST_F(HistoryTest, PsiWithoutStatedCriteriaSaysNone) {
  for (const Pair& p : ds().pairs) {
    const User& u = ds().user_of(p);
    if (u.has_stated_criteria()) continue;
    EXPECT_NE(render_prompt(PromptKind::kPsi, u, {}, p, {0, 1}).find("Stated criteria: none."),
              std::string::npos);
    EXPECT_NE(render_prompt(PromptKind::kCre, u, {}, p, {0, 1}).find("History: none."),
              std::string::npos);
    return;
  }
  FAIL() << "no user without criteria";
}

TEST(Vocab, PretokenizeMatchesTheSpacePrefixedSplit) {
  EXPECT_EQ(pretokenize("Final = 6.35 {\"a\": 1}<JSON_END>x_y"),
            (std::vector<std::string>{"Final", " =", " 6", ".", "35", " {\"", "a", "\":", " 1", "}",
                                      "<JSON_END>", "x_y"}));
  EXPECT_EQ(pretokenize("a\n b  c\n"), (std::vector<std::string>{"a", "\n ", "b", "  ", "c", "\n"}));
  EXPECT_THROW(pretokenize("caf\xc3\xa9"), Error);
}

// Every prompt (PSI and CRE) and every teacher chain of a generated world
// encodes without <unk>, in the world's own tokenizer.json; prompts stay
// short enough for a tiny model.
TEST(Vocab, PromptsAndChainsEncodeWithoutUnknownTokens) {
  const auto dir = testing::temp_dir("vocab");
  core::DataOptions d;
  generate_dir(testing::small_world(60, 2), d, dir);
  const auto tok = model::Tokenizer::from_file(dir + "/tokenizer.json");
  EXPECT_EQ(tok.model_type(), "WordLevel");
  const auto unk = tok.token_to_id("<unk>");
  ASSERT_TRUE(unk.has_value());
  EXPECT_EQ(tok.token_to_id("<pad>"), 0);
  Dataset ds = read_dataset(dir);
  const World w = read_world_json(dir + "/world.json", &ds);
  const auto seed = static_cast<uint64_t>(w.options.seed);
  size_t longest = 0;
  int64_t unknown = 0;
  const auto check = [&](const std::string& text) -> size_t {
    const auto ids = tok.encode(text);
    for (int32_t id : ids)
      if (id == *unk && unknown++ < 3) ADD_FAILURE() << "unknown token in: " << text;
    return ids.size();
  };
  for (const Pair& p : ds.pairs) {
    const History h = sample_history(ds, p, history_options(d), seed);
    for (auto kind : {PromptKind::kPsi, PromptKind::kCre})
      longest = std::max(longest, check(render_prompt(kind, ds.user_of(p), h, p, {1, 0})));
  }
  EXPECT_LT(longest, 400u) << "prompts with h = 3 should stay a few hundred tokens";
  const auto records = read_teacher_jsonl(dir + "/teacher.jsonl");
  ASSERT_FALSE(records.empty());
  for (const auto& r : records) check(r.chain);
  EXPECT_EQ(unknown, 0);
  // The JSON markers are single special tokens.
  const auto ids = tok.encode("<JSON_START>{\"rationale\"");
  EXPECT_EQ(ids.front(), tok.token_to_id("<JSON_START>"));
}

}  // namespace
}  // namespace pgenrm::data

namespace pgenrm::data {
namespace {

// The world's tokenizer is lossless on world text: decoding what a model
// writes gives the exact chain back (newlines, spacing), so it parses.
TEST(WorldTokenizer, ChainsAndPromptsRoundTripExactlyWithoutUnknownTokens) {
  const auto dir = testing::temp_dir("tokrt");
  core::DataOptions d;
  generate_dir(testing::small_world(60, 4), d, dir);
  const auto tok = model::Tokenizer::from_file(dir + "/tokenizer.json");
  const int32_t unk = *tok.token_to_id("<unk>");
  int64_t n = 0;
  for (const auto& r : read_teacher_jsonl(dir + "/teacher.jsonl")) {
    const auto ids = tok.encode(r.chain);
    ASSERT_EQ(std::count(ids.begin(), ids.end(), unk), 0) << r.chain;
    ASSERT_EQ(tok.decode(ids), r.chain);
    EXPECT_TRUE(chain::parse(tok.decode(ids), 2).ok());
    ++n;
  }
  EXPECT_GT(n, 100);
  Dataset ds = read_dataset(dir);
  const World w = read_world_json(dir + "/world.json", &ds);
  for (const Pair& p : ds.pairs) {
    const History h =
        sample_history(ds, p, history_options(d), static_cast<uint64_t>(w.options.seed));
    const std::string prompt = render_prompt(PromptKind::kPsi, ds.user_of(p), h, p, {0, 1});
    EXPECT_EQ(tok.decode(tok.encode(prompt)), prompt);
  }
  // Numbers a model may write that no teacher chain used are still tokens.
  for (const char* text : {" Final = 9.99", " 100/10", " (0%)"})
    for (int32_t id : tok.encode(text)) EXPECT_NE(id, unk) << text;
}

}  // namespace
}  // namespace pgenrm::data
