// JSONL round trips and error reporting of data/io.h.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "data/generate.h"
#include "data/io.h"
#include "data/personaworld.h"
#include "tests/data/helpers.h"

namespace pgenrm::data {
namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Io, DatasetRoundTripGivesEqualPairsAndUsers) {
  const GeneratedWorld g = generate_world(testing::small_world(120, 9));
  const auto dir = testing::temp_dir("roundtrip");
  write_pairs_jsonl(dir + "/pairs.jsonl", g.dataset.pairs);
  write_survey_jsonl(dir + "/survey.jsonl", g.dataset.users);
  write_world_json(dir + "/world.json", g.world, g.dataset.users);
  Dataset back = read_dataset(dir);
  const World w = read_world_json(dir + "/world.json", &back);
  EXPECT_EQ(back.pairs, g.dataset.pairs);
  EXPECT_EQ(back.users, g.dataset.users);
  EXPECT_EQ(w.population_weights, g.world.population_weights);
  EXPECT_EQ(w.multipliers, g.world.multipliers);
  EXPECT_EQ(w.options.tau, g.world.options.tau);
  // Scores and truth are optional: a pair without them survives too.
  std::vector<Pair> pairs = {g.dataset.pairs[0]};
  pairs[0].truth.reset();
  pairs[0].scenario.clear();
  pairs[0].chosen_score = 81;
  pairs[0].rejected_score = 12.5;
  write_pairs_jsonl(dir + "/one.jsonl", pairs);
  EXPECT_EQ(read_pairs_jsonl(dir + "/one.jsonl"), pairs);
}

TEST(Io, TeacherRecordsRoundTrip) {
  const auto dir = testing::temp_dir("teacher_rt");
  std::vector<TeacherRecord> r = {{"user00001-p00",
                                   "user00001",
                                   {"user00001-p03", "user00001-p01"},
                                   {1, 0},
                                   2,
                                   "PART 1: Preference Modeling\nPersona: x"}};
  write_teacher_jsonl(dir + "/t.jsonl", r);
  EXPECT_EQ(read_teacher_jsonl(dir + "/t.jsonl"), r);
}

TEST(Io, MalformedLineNamesFileAndLine) {
  const GeneratedWorld g = generate_world(testing::small_world(5, 9));
  const auto dir = testing::temp_dir("malformed");
  const std::string path = dir + "/pairs.jsonl";
  write_pairs_jsonl(path, {g.dataset.pairs[0], g.dataset.pairs[1]});
  { std::ofstream(path, std::ios::app) << "{\"user_id\": \"u\", \"context\": [\n"; }
  std::string msg = error_of([&] { read_pairs_jsonl(path); });
  EXPECT_NE(msg.find(path + ":3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;

  write_file(
      path,
      "\n{\"user_id\": \"u\", \"conversation_id\": \"c\", \"context\": [], \"chosen\": \"a\", "
      "\"rejected\": \"b\", \"split\": \"holdout\"}\n");
  msg = error_of([&] { read_pairs_jsonl(path); });
  EXPECT_NE(msg.find(path + ":2:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("holdout"), std::string::npos) << msg;

  write_file(path, "{\"user_id\": \"u\", \"context\": []}\n");
  msg = error_of([&] { read_pairs_jsonl(path); });
  EXPECT_NE(msg.find(path + ":1: missing key"), std::string::npos) << msg;

  msg = error_of([&] { read_pairs_jsonl(dir + "/absent.jsonl"); });
  EXPECT_NE(msg.find("absent.jsonl"), std::string::npos) << msg;
}

// A PersonalRewardBench row as the hub exports it: repeated conversation
// ids, "validation" split, NaN scores, judge columns to ignore.
TEST(Io, ReadsPersonalRewardBenchRows) {
  const auto dir = testing::temp_dir("prb");
  const std::string row =
      R"({"user_id": "user7", "conversation_id": "c12", "context": [{"content": "hi", "role": "user"},)"
      R"( {"content": "hello", "role": "assistant"}, {"content": "tell me a joke", "role": "user"}],)"
      R"( "chosen": {"content": "A joke.", "role": "assistant"}, "rejected": {"content": "No.", "role": "assistant"},)"
      R"( "chosen_score": NaN, "rejected_score": 40, "turns": 2, "type": "unguided", "split": "validation",)"
      R"( "flip": false, "agreement": null, "prediction_x": "NaN"})";
  write_file(dir + "/pairs.jsonl", row + "\n" + row + "\n");
  write_file(dir + "/survey.jsonl",
             R"({"user_id": "user7", "system_string": "Be brief.", "stated_prefs": {"values": 20,)"
             R"( "creativity": null, "fluency": 90, "factuality": 55}, "age": "25-34"})"
             "\n");
  const Dataset ds = read_dataset(dir);
  ASSERT_EQ(ds.pairs.size(), 2u);
  EXPECT_EQ(ds.pairs[0].pair_id, "c12");
  EXPECT_EQ(ds.pairs[1].pair_id, "c12#2");
  EXPECT_EQ(ds.pairs[0].query(), "tell me a joke");
  EXPECT_EQ(ds.pairs[0].split, Split::kVal);
  EXPECT_FALSE(ds.pairs[0].chosen_score.has_value());
  EXPECT_EQ(ds.pairs[0].rejected_score, 40.0);
  ASSERT_EQ(ds.users.size(), 1u);
  const User& u = ds.users[0];
  EXPECT_EQ(u.system_string, "Be brief.");
  ASSERT_EQ(u.stated.size(), 3u);  // null dropped, most important first
  EXPECT_EQ(u.stated[0].name, "fluency");
  EXPECT_EQ(u.stated[2].name, "values");
  EXPECT_FALSE(u.cold_start);  // two val pairs: more than kColdStartMaxPairs
}

TEST(Io, NanToNullLeavesStringsAlone) {
  EXPECT_EQ(nan_to_null(R"({"a": NaN, "b": "NaN", "c": -Infinity, "d": "x\"NaN"})"),
            R"({"a": null, "b": "NaN", "c": null, "d": "x\"NaN"})");
}

TEST(Io, DuplicateUserOrPairIdsAreErrors) {
  Dataset ds;
  ds.users = {User{}, User{}};
  ds.users[0].user_id = ds.users[1].user_id = "u1";
  EXPECT_NE(error_of([&] { ds.build_index(); }).find("duplicate user id 'u1'"), std::string::npos);
}

}  // namespace
}  // namespace pgenrm::data
