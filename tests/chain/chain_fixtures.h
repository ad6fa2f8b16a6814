// Chains for the chain/ tests: one hand-written example with its exact
// canonical text, and a seeded generator of random valid chains whose names
// and texts stress the format (spaces, punctuation, quotes, UTF-8, "Final",
// "Response"...).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <random>
#include <string>
#include <vector>

#include "chain/chain.h"

namespace pgenrm::chain::testing {

// brevity 40% / depth 60%; Response 1: 7, 4 → 5.20; Response 2: 3, 8 → 6.00.
inline Chain example_chain() {
  Chain c;
  c.persona = "Busy engineer who likes short answers.";
  c.scenario = "Writing a work email.";
  c.derivation = "Brevity matters most at work; depth matters for correctness.";
  c.criteria = {{"brevity", 40}, {"depth", 60}};
  c.scores = {{7, 4}, {3, 8}};
  c.stated_totals = {5.20, 6.00};
  return c;
}

inline const std::string& example_text() {
  static const std::string kText =
      "PART 1: Preference Modeling\n"
      "Persona: Busy engineer who likes short answers.\n"
      "Scenario: Writing a work email.\n"
      "Criteria derivation: Brevity matters most at work; depth matters for correctness.\n"
      "PART 2: Final Scoring Scheme\n"
      "<JSON_START>{\"rationale\": \"A. Evaluation Criteria & Weights: 1. brevity (40%) 2. depth (60%) "
      "B. Scoring Breakdown: Response 1: brevity 7/10 depth 4/10 Final = 5.20 "
      "Response 2: brevity 3/10 depth 8/10 Final = 6.00\", "
      "\"better_response\": {\"response_1\": 5.20, \"response_2\": 6.00}}<JSON_END>";
  return kText;
}

// `text` with the first occurrence of `from` replaced by `to` (which must exist).
inline std::string replaced(std::string text, const std::string& from, const std::string& to) {
  std::size_t pos = text.find(from);
  if (pos == std::string::npos) throw std::runtime_error("test bug: '" + from + "' not in text");
  return text.replace(pos, from.size(), to);
}

// Integer weights ≥ 0 summing to 100, n ≥ 1 of them.
inline std::vector<int> random_weights(std::mt19937_64& rng, std::size_t n) {
  std::vector<int> cuts = {0, 100};
  for (std::size_t i = 1; i < n; ++i) cuts.push_back(static_cast<int>(rng() % 101));
  std::sort(cuts.begin(), cuts.end());
  std::vector<int> w;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) w.push_back(cuts[i + 1] - cuts[i]);
  return w;
}

inline Chain random_chain(std::mt19937_64& rng, std::size_t n_responses) {
  static const std::vector<std::string> kNames = {
      "brevity", "level of detail", "Tone & warmth", "it's \"practical\"", "naïve-ness", "x.y",
      "Final thoughts", "Response length", "Final", "clarity, structure", "safety!", "émotion",
      "2 examples", "back\\slash", "tab\tinside", "<tag> & co", "creativity", "formality"};
  static const std::vector<std::string> kTexts = {
      "Likes short answers.", "Multi-line\ntext with  spaces", "Quotes \" and \\ backslashes",
      "Unicode: café, 数学, emoji 🙂", "Mentions Scenario: inline and PART 2 inline",
      "Has {\"json\": 1} and <JSON_STAR> lookalikes", "Final = 3.00 and Response 1: inside"};
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  Chain c;
  c.persona = pick(kTexts);
  c.scenario = pick(kTexts);
  c.derivation = pick(kTexts);
  std::vector<std::string> names = kNames;
  std::shuffle(names.begin(), names.end(), rng);
  const std::size_t k = 1 + rng() % 6;
  std::vector<int> w = random_weights(rng, k);
  for (std::size_t i = 0; i < k; ++i) {
    std::string name = names[i];
    for (char& ch : name) {
      if (ch == '\t') ch = ' ';  // the parser collapses whitespace in names
    }
    c.criteria.push_back({name, w[i]});
  }
  c.scores.assign(n_responses, std::vector<int>(k));
  for (auto& row : c.scores) {
    for (int& s : row) s = 1 + static_cast<int>(rng() % 10);
  }
  // Stated totals anywhere within the tolerance, on the 0.01 grid the
  // renderer prints.
  for (const auto& row : c.scores) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < k; ++i) sum += std::int64_t{c.criteria[i].weight} * row[i];
    sum += static_cast<std::int64_t>(rng() % 11) - 5;
    c.stated_totals.push_back(static_cast<double>(sum) / 100.0);
  }
  return c;
}

}  // namespace pgenrm::chain::testing
