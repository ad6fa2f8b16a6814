// The evaluation chain P-GenRM writes (DESIGN.md §4), as a typed value.
//
//   PART 1: Preference Modeling
//   Persona: <text>
//   Scenario: <text>
//   Criteria derivation: <text>
//   PART 2: Final Scoring Scheme
//   <JSON_START>{"rationale": "A. Evaluation Criteria & Weights: 1. <name> (<w>%) 2. ...
//     B. Scoring Breakdown: Response 1: <name> <s>/10 ... Final = <t> Response 2: ...",
//     "better_response": {"response_1": <t1>, "response_2": <t2>}}<JSON_END>
//
// This header is the shared vocabulary of chain/ (render, parse, validate,
// rewards) and of data/ (the teacher writes Chains). No text generation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pgenrm::chain {

// Opens the per-response scores inside the rationale. Everything a chain
// writes after it follows from its criteria and the responses.
inline constexpr std::string_view kBreakdownHeader = "B. Scoring Breakdown:";

struct Criterion {
  std::string name;  // e.g. "brevity"
  int weight = 0;    // integer percent; a valid chain's weights sum to 100
};

struct Chain {
  std::string persona;     // core preferences: style, content & structure, values
  std::string scenario;    // snapshot of this user in this scenario
  std::string derivation;  // why each criterion matters here
  std::vector<Criterion> criteria;
  // scores[r][c]: integer 1..10 of response r (0-based; "response_{r+1}" in
  // text) on criteria[c].
  std::vector<std::vector<int>> scores;
  // The totals the chain states, per response (Σ w·s / 100 when faithful).
  std::vector<double> stated_totals;
};

// Σ_c weight_c · scores[r][c] / 100 for every response r. Computed as an
// integer sum divided once by 100, so a total prints and re-parses to the
// same double. Throws pgenrm::Error when a score row does not have one score
// per criterion (a caller-built chain of the wrong shape).
std::vector<double> recompute_totals(const Chain& c);

// Training uses b = 2; the format allows any b ≥ 2 (DESIGN.md §4).
inline constexpr std::size_t kMinResponses = 2;

// "response_1", "response_2", ... for the 0-based response r.
std::string response_key(std::size_t r);

// Field-by-field equality (stated totals compared exactly).
bool operator==(const Criterion& a, const Criterion& b);
bool operator==(const Chain& a, const Chain& b);

}  // namespace pgenrm::chain
