// The loader fuzz targets run without libFuzzer: fuzz/data_fuzz_checks.cpp's
// property checks over the fixtures, thousands of seeded mutations of them
// (byte flips, insertions of schema tokens — keys, NaN, null, "EMPTY
// STRING", brackets, quotes, newlines —, deletions, splices) and a few
// pathological inputs. Runs everywhere g++ does; the real libFuzzer runs
// (clang, PGENRM_FUZZ=ON) explore further.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "tests/data/real_helpers.h"

namespace pgenrm::data::fuzz {
std::string check_prism_properties(std::string_view input);
std::string check_prb_properties(std::string_view input);
std::string check_arena_properties(std::string_view input);
std::string check_lampqa_properties(std::string_view input);
}  // namespace pgenrm::data::fuzz

namespace pgenrm::data {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::vector<std::string>& tokens() {
  static const std::vector<std::string> kTokens = {
      "NaN", "null", "-Infinity", "\"EMPTY STRING\"", "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00e9",
      "\\ud800", "\n", "\r\n", " ", "0", "1", "-1", "10", "100", "150", "1e999", "1.5", "true", "false",
      "\"turn\": ", "\"role\": \"model\"", "\"role\": \"user\"", "\"score\": ", "\"within_turn_id\": ",
      "\"if_chosen\": true", "\"conversation_id\": \"c0\"", "\"user_id\": \"user0\"", "\"split\": \"test\"",
      "\"split\": \"train\"", "\"flip\": true", "\"winner\": \"tie\"", "\"winner\": \"model_b\"",
      "\"judge\": \"j\"", "\"question_id\": \"q1\"", "\"id\": \"1\"", "\"rank\": 2", "\"context\": []",
      "{\"role\": \"user\", \"content\": \"x\"}", "{\"role\": \"assistant\", \"content\": \"y\"}",
      std::string(1, '\0'), "\xff", "\xc3\xa9"};
  return kTokens;
}

std::string mutate(std::string s, std::mt19937_64& rng, const std::vector<std::string>& corpus) {
  const int n_edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < n_edits; ++e) {
    const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng() % 256);
        break;
      case 1:
      case 2:
        s.insert(pos, tokens()[rng() % tokens().size()]);
        break;
      case 3:
        if (pos < s.size()) s.erase(pos, 1 + rng() % 24);
        break;
      case 4:
        s.resize(pos);
        break;
      case 5: {  // splice in a slice of another seed
        const std::string& o = corpus[rng() % corpus.size()];
        if (o.empty()) break;
        const size_t a = rng() % o.size();
        s.insert(pos, o.substr(a, 1 + rng() % 200));
        break;
      }
    }
  }
  return s;
}

void run_fallback(const char* name, std::string (*check)(std::string_view), std::vector<std::string> seeds,
                  int iterations) {
  for (const std::string& s : seeds) ASSERT_EQ(check(s), "") << name << " seed fails";
  std::mt19937_64 rng(2024);
  for (int i = 0; i < iterations; ++i) {
    const std::string input = mutate(seeds[rng() % seeds.size()], rng, seeds);
    const std::string failure = check(input);
    ASSERT_EQ(failure, "") << name << " mutation " << i << " input:\n" << input;
  }
  // Pathological: deep nesting, long runs, an unterminated array.
  for (const std::string& s : {std::string(20000, '['), std::string(20000, '{'), std::string(100000, '"'),
                               std::string("[") + std::string(5000, ','), std::string("[{\"id\": 1}")})
    ASSERT_EQ(check(s), "") << name << " pathological input of " << s.size() << " bytes";
}

using testing::fixture;

TEST(FuzzLoaders, PrismPropertiesHoldOnMutations) {
  const std::string survey = slurp(fixture("prism/survey.jsonl"));
  const std::string conv = slurp(fixture("prism/conversations.jsonl"));
  const std::string utt = slurp(fixture("prism_utterances/utterances.jsonl"));
  const std::string bad = slurp(fixture("prism_bad/conversations.jsonl"));
  run_fallback("prism", fuzz::check_prism_properties,
               {"0" + survey + std::string(1, '\0') + conv, "0" + conv, "1" + utt, "0" + bad}, 10000);
}

TEST(FuzzLoaders, PrbPropertiesHoldOnMutations) {
  run_fallback("prb", fuzz::check_prb_properties,
               {slurp(fixture("prb/prism_personalized.jsonl")), slurp(fixture("prb_bad/rows.jsonl"))}, 10000);
}

TEST(FuzzLoaders, ArenaPropertiesHoldOnMutations) {
  run_fallback("arena", fuzz::check_arena_properties,
               {slurp(fixture("arena/chatbot_arena_conversations.jsonl")), slurp(fixture("arena_bad/arena.jsonl"))},
               10000);
}

TEST(FuzzLoaders, LampQaPropertiesHoldOnMutations) {
  run_fallback("lampqa", fuzz::check_lampqa_properties,
               {slurp(fixture("lampqa/Art_and_Entertainment.json")), slurp(fixture("lampqa/candidates.jsonl")),
                slurp(fixture("lampqa_bad/Society_and_Culture.json"))},
               10000);
}

}  // namespace
}  // namespace pgenrm::data
