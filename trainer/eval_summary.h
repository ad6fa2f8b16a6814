// Turning per-pair verdicts into the numbers `pgenrm eval` reports:
// accuracy with its standard error, ties and parse failures counted in the
// denominator (and, separately, the ties-dropped accuracy the paper's
// released script reports), per user group. Any scorer — P-GenRM, the
// Bradley–Terry baseline, the oracle, a random scorer — reports through it.
//
// The standard error treats pairs as the unit: each pair's correctness is
// averaged over the evaluation seeds first, so seeds (history draws, response
// order, sampled chains) do not masquerade as independent data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pgenrm::trainer {

enum class Verdict { kCorrect, kWrong, kTie, kParseFailure };

// Chosen/rejected scores → verdict (exact equality is a tie; NaN = failure).
Verdict verdict_from_scores(double chosen, double rejected);

struct PairOutcome {
  int64_t pair = 0;  // which test pair
  int64_t seed = 0;  // which evaluation seed
  Verdict verdict = Verdict::kWrong;
  std::vector<std::string> groups;  // e.g. "stated_criteria", "cold_start", "hard_negative"
};

struct EvalSummary {
  double accuracy = 0, se = 0, accuracy_ties_dropped = 0;
  int64_t n_pairs = 0, n_items = 0, ties = 0, parse_failures = 0;
  std::vector<double> seed_accuracy;
  // Per-pair accuracy over the seeds, by pair index (top level only): what
  // a paired comparison of two scorers on the same pairs needs.
  std::vector<double> pair_accuracy;
  std::map<std::string, EvalSummary> groups;
  double oracle_accuracy = -1;  // set by the caller when known (< 0: absent)
  double wall_s = 0;
};

EvalSummary summarize(const std::vector<PairOutcome>& outcomes,
                      const std::vector<std::string>& group_names);

void to_json(nlohmann::json& j, const EvalSummary& s);

// Paired difference a − b of two scorers' per-pair accuracies on the same
// pairs (JSON arrays "pair_accuracy"): the mean and its standard error,
// which is smaller than either accuracy's SE when the scorers agree on
// which pairs are easy. Throws if the lengths differ.
struct PairedDiff {
  double diff = 0, se = 0;
  int64_t n = 0;
};
PairedDiff paired_difference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace pgenrm::trainer
