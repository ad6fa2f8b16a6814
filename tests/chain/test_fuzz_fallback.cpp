// The parser fuzz target run without libFuzzer: fuzz/fuzz_chain_parse.cpp's
// property check over a corpus of valid chains, thousands of seeded
// mutations of it (byte flips, insertions of format tokens, deletions,
// truncations, splices), and a few pathological inputs (deep nesting, long
// runs) that a quadratic or recursive parser would choke on. Runs everywhere
// g++ does; the real libFuzzer run (clang, PGENRM_FUZZ=ON) explores further.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "chain/parse.h"
#include "chain/render.h"
#include "chain_fixtures.h"

namespace pgenrm::chain::fuzz {
std::string check_parse_properties(std::string_view input);  // fuzz/fuzz_chain_parse.cpp
}

namespace pgenrm::chain {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> c = {testing::example_text()};
  std::mt19937_64 rng(11);
  for (std::size_t b : {2u, 3u}) {
    for (int i = 0; i < 20; ++i) c.push_back(render(testing::random_chain(rng, b)));
  }
  return c;
}

// Pieces of the format, so mutations reach deep into the grammar instead of
// failing at the first marker.
const std::vector<std::string>& tokens() {
  static const std::vector<std::string> kTokens = {
      "<JSON_START>", "<JSON_END>", "PART 1: Preference Modeling", "PART 2: Final Scoring Scheme",
      "\nPersona: ", "\nScenario: ", "\nCriteria derivation: ", "A. Evaluation Criteria & Weights:",
      "B. Scoring Breakdown:", "Response 1:", "Response 2:", "Response 3:", "Response 0:", "Final = ",
      "/10", "/100", "(", ")", "%)", "(50%)", "1. ", "2. ", "\"", "\\", "\\u003c", "\\n", "{", "}", "[", "]",
      ",", ":", "\"response_1\": ", "\"response_3\": ", "\"rationale\": ", "\"better_response\": ", "\r\n",
      "\n", " ", "\t", "-", "+", ".", "0", "1", "7", "10", "11", "99999999999", "1e999", "nan", "inf",
      "\xc3\xa9", "\xff", std::string(1, '\0')};
  return kTokens;
}

std::string mutate(std::string s, const std::vector<std::string>& pool, std::mt19937_64& rng) {
  const int n_edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < n_edits; ++e) {
    const std::size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 7) {
      case 0:  // flip a byte
        if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng() % 256);
        break;
      case 1:  // insert a format token
        s.insert(pos, tokens()[rng() % tokens().size()]);
        break;
      case 2: {  // delete a range
        std::size_t len = 1 + rng() % 16;
        if (pos < s.size()) s.erase(pos, len);
        break;
      }
      case 3:  // truncate
        s.resize(pos);
        break;
      case 4: {  // splice with another corpus item
        const std::string& other = pool[rng() % pool.size()];
        std::size_t cut = other.empty() ? 0 : rng() % other.size();
        s = s.substr(0, pos) + other.substr(cut);
        break;
      }
      case 5: {  // duplicate a range
        std::size_t len = 1 + rng() % 32;
        if (pos < s.size()) s.insert(pos, s.substr(pos, len));
        break;
      }
      default:  // change a digit: weights, scores and totals stay plausible
        for (std::size_t i = 0; i < s.size(); ++i) {
          std::size_t j = (pos + i) % s.size();
          if (s[j] >= '0' && s[j] <= '9') {
            s[j] = static_cast<char>('0' + rng() % 10);
            break;
          }
        }
        break;
    }
  }
  return s;
}

TEST(FuzzFallback, CorpusHoldsTheProperties) {
  for (const std::string& s : corpus()) ASSERT_EQ(fuzz::check_parse_properties(s), "") << s;
}

TEST(FuzzFallback, SeededMutationsHoldTheProperties) {
  const std::vector<std::string> pool = corpus();
  std::mt19937_64 rng(0xC4A1);
  ErrorCounts counts;
  constexpr int kIterations = 100000;
  for (int i = 0; i < kIterations; ++i) {
    std::string input = mutate(pool[rng() % pool.size()], pool, rng);
    std::string failure = fuzz::check_parse_properties(input);
    ASSERT_EQ(failure, "") << "iteration " << i << ", input:\n" << input;
    counts.add(parse(input, 2));
  }
  // The mutations must reach deep into the grammar, not all die at the
  // markers: some stay valid, most do not, and most codes are hit.
  std::size_t codes_hit = 0;
  for (std::size_t c = 0; c < kNumErrorCodes; ++c) {
    codes_hit += counts.by_code[c] > 0;
    std::printf("  %-24s %6lld\n", std::string(error_code_name(static_cast<ErrorCode>(c))).c_str(),
                static_cast<long long>(counts.by_code[c]));
  }
  EXPECT_GT(counts.count(ErrorCode::kOk), kIterations / 100);
  EXPECT_LT(counts.count(ErrorCode::kOk), kIterations / 2);
  EXPECT_GE(codes_hit, kNumErrorCodes - 3);  // all but kInternal and at most two rare ones
}

TEST(FuzzFallback, PathologicalInputs) {
  const std::string head = testing::example_text().substr(0, testing::example_text().find("<JSON_START>"));
  const std::size_t kBig = 200000;
  const std::vector<std::string> inputs = {
      head + "<JSON_START>" + std::string(kBig, '[') + "<JSON_END>",
      head + "<JSON_START>" + std::string(kBig, '{') + "<JSON_END>",
      head + "<JSON_START>{\"rationale\": \"" + std::string(kBig, ' ') + "\"}<JSON_END>",
      std::string(kBig, '\n') + "<JSON_START><JSON_END>",
      "PART 1:" + std::string(kBig, ' ') + "<JSON_START>{}<JSON_END>",
      head + "<JSON_START>{\"rationale\": \"A. Evaluation Criteria & Weights: 1. a (100%) B. Scoring Breakdown: " +
          [] {
            std::string s;
            for (int i = 0; i < 20000; ++i) s += "Response a /10/100 ";
            return s;
          }() +
          "\", \"better_response\": {}}<JSON_END>",
      std::string(kBig, '\0'),
  };
  for (const std::string& s : inputs) EXPECT_EQ(fuzz::check_parse_properties(s), "") << s.substr(0, 200);
}

}  // namespace
}  // namespace pgenrm::chain
