// Text → Chain: parse, validate and extract scores (DESIGN.md §4).
//
// Lenient about whitespace (extra spaces and newlines, CRLF, a space in a
// fixed phrase may be any run of whitespace), strict about structure: every
// deviation from the canonical form is reported as one typed ErrorCode, the
// first one found in reading order. parse() never throws and never crashes on
// any text (fuzz/fuzz_chain_parse.cpp checks it); it does not judge whether
// the chain is *good*, only whether it is well-formed and self-consistent.
//
// Structure rules beyond DESIGN.md §4, decided here:
// - Only whitespace may precede "PART 1: Preference Modeling", separate the
//   "PART 2: Final Scoring Scheme" line from <JSON_START>, or follow
//   <JSON_END> (else kStrayText). Phrases are case-sensitive.
// - Persona:, Scenario:, Criteria derivation: and the PART 2 line each start
//   a line, in this order; a field's text may span lines and must not be
//   empty (kMissingPart1Field).
// - Criteria are numbered 1., 2., ... in order; a name is non-empty, its
//   whitespace collapsed, and holds none of ( ) : % / = ; names compare
//   case-insensitively (so "Brevity" and "brevity" are duplicates).
// - Weights are integers in 0..100 summing to 100. Scores are integers 1..10;
//   each response scores every criterion exactly once, in any order.
// - Response blocks may come in any order; each ends with "Final = <t>".
// - Both stated totals of a response — "Final = t" in the rationale and its
//   entry in better_response — must lie within kTotalTolerance of the
//   recomputed Σ w·s / 100; either one off is kTotalMismatch (one code: both
//   are "the stated total"; two that each pass can differ by at most 0.1).
//   Chain::stated_totals holds the better_response values.
// - Extra top-level JSON keys are ignored.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chain/chain.h"

namespace pgenrm::chain {

// Stated vs recomputed totals may differ by this much (inclusive; a 1e-9
// slack absorbs binary rounding, so 7.35 vs 7.40 passes).
inline constexpr double kTotalTolerance = 0.05;

// The codes are stable: their names (error_code_name) are metric keys.
enum class ErrorCode : std::uint8_t {
  kOk = 0,
  kMissingJsonMarkers,     // no <JSON_START> ... <JSON_END> pair
  kStrayText,              // non-whitespace outside the structure
  kMissingPart1,           // no "PART 1: Preference Modeling" header
  kMissingPart1Field,      // Persona / Scenario / Criteria derivation absent or empty
  kMissingPart2,           // no "PART 2: Final Scoring Scheme" line
  kBadJson,                // the text between the markers is not a JSON object
  kMissingRationale,       // no string "rationale"
  kMissingBetterResponse,  // no object "better_response"
  kCriteriaUnparsable,     // "A. Evaluation Criteria & Weights:" absent or malformed
  kWeightNotInteger,       // "(7.5%)", "(high%)"
  kWeightOutOfRange,       // a weight < 0 or > 100
  kDuplicateCriterion,     // a criterion listed (or scored by one response) twice
  kWeightSum,              // weights do not sum to 100
  kBreakdownUnparsable,    // "B. Scoring Breakdown:" absent or malformed
  kUnknownResponseKey,     // "response_3" with b = 2, "resp_1", "Response 0:"
  kMissingResponse,        // a response without scores or without a total
  kScoreNotInteger,        // "7.5/10", "high/10"
  kScoreOutOfRange,        // a score outside 1..10
  kScoreMissing,           // a criterion unscored, or an unknown criterion scored
  kTotalMismatch,          // a stated total off the recomputed one by > 0.05
  kInternal,               // a parser bug caught (never expected; the fuzz target fails on it)
  kCount                   // number of codes, not a code
};
inline constexpr std::size_t kNumErrorCodes = static_cast<std::size_t>(ErrorCode::kCount);

// "ok", "missing_json_markers", ..., "total_mismatch": stable metric names.
std::string_view error_code_name(ErrorCode code);

struct ParseResult {
  ErrorCode error = ErrorCode::kOk;
  std::string message;         // what is wrong and where; empty when ok
  std::optional<Chain> chain;  // set exactly when error == kOk
  // Set exactly when error is kTotalMismatch (structure, weights and scores
  // valid; the stated totals disagree with the breakdown: an arithmetic
  // slip) or kWeightSum (everything else valid; the weights do not sum to
  // 100). Never set for any other error.
  std::optional<Chain> breakdown;
  bool ok() const { return error == ErrorCode::kOk; }
};

// Parses and validates a chain comparing n_responses responses (keys
// response_1..response_n). Never throws on any text; throws pgenrm::Error only
// for n_responses < 2, a caller bug.
ParseResult parse(std::string_view text, std::size_t n_responses);

// The scores a chain gives, in prompt order: the totals RECOMPUTED from the
// breakdown (never the stated ones). nullopt for a failed parse.
std::optional<std::vector<double>> extract_scores(const ParseResult& parsed);
// The same, also for a kTotalMismatch chain: the scores its breakdown implies.
// DESIGN.md §4 decides a verdict by the recomputed totals, so a wrong stated
// total need not void the verdict; callers that use this still count the
// mismatch (it is the parse's error code). With renormalise_weights, a
// kWeightSum chain gives Σ w·s / Σ w — a repaired reading, which reports
// must keep apart from strict accuracy.
std::optional<std::vector<double>> extract_breakdown_scores(const ParseResult& parsed,
                                                            bool renormalise_weights = false);

// Per-code counts of parse outcomes, mergeable across workers and steps.
struct ErrorCounts {
  std::array<std::int64_t, kNumErrorCodes> by_code{};  // index = ErrorCode; kOk counts successes

  void add(ErrorCode code) { ++by_code[static_cast<std::size_t>(code)]; }
  void add(const ParseResult& r) { add(r.error); }
  ErrorCounts& operator+=(const ErrorCounts& other);
  std::int64_t count(ErrorCode code) const { return by_code[static_cast<std::size_t>(code)]; }
  std::int64_t total() const;   // every parse counted, ok or not
  std::int64_t errors() const;  // total() - count(kOk)
  // {"<prefix>total", "<prefix>errors", "<prefix>error_rate", "<prefix><code>"...},
  // one key per code (zeros included, so curves do not start mid-run).
  std::map<std::string, double> to_metrics(const std::string& prefix = "parse/") const;
};

}  // namespace pgenrm::chain
