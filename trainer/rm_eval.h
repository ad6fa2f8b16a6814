// The evaluation harness of a reward model on a dataset's test pairs:
// accuracy ± SE over ≥ 1 seeds with ties and parse failures reported,
// per user group (stated_criteria / no_criteria, cold_start / warm,
// hard_negative / easy), and on PersonaWorld the diagnostics of issue 11:
//   history_sensitivity  share of personalisation-critical pairs (hard
//                        negatives of users with history) whose verdict
//                        flips when every preference in the history is
//                        flipped — a scorer that ignores the history gets 0
//   weight_error_pp      mean |chain weight − true weight| per criterion,
//                        percentage points (criteria a chain omits count 0)
//   score_error          mean |chain score − true attribute| over the
//                        criteria a chain scores (1–10 scale)
// Any scorer reports through the same function: the model (Ind-m) or a
// reference scorer from data/scorers.h.
#pragma once

#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/personaworld.h"
#include "data/scorers.h"
#include "trainer/eval_summary.h"
#include "trainer/rm_task.h"

namespace pgenrm::trainer {

struct RmEvalOptions {
  std::vector<uint64_t> seeds = {1, 2, 3};  // history draw + response order (+ sampling)
  int64_t chains = 1;                       // Ind-m
  model::SampleParams sample;               // temperature 0 + chains 1 = greedy
  int64_t batch = 32;                       // prompts per generation call
  data::PromptKind kind = data::PromptKind::kPsi;
  bool diagnostics = true;
};

// The groups of a pair: user groups + "hard_negative" / "easy".
std::vector<std::string> pair_groups(const data::Dataset& ds, const data::Pair& p);
const std::vector<std::string>& report_groups();

// Verdict of any scorer for one pair under a given history (the diagnostic
// swaps the history).
using HistoryScorer = std::function<Verdict(const data::Pair&, const data::History&)>;

// Share of `pairs` whose verdict differs between the real and the flipped
// history, over the pairs that are hard negatives of users with a history.
// Returns {share, count}.
std::pair<double, int64_t> history_sensitivity(const RmTask& task, const std::vector<size_t>& pairs,
                                               uint64_t seed, const HistoryScorer& scorer);

// Evaluates the model; `world` (may be null) enables the truth diagnostics.
nlohmann::json evaluate_model(model::TransformerImpl& m, const RmTask& task,
                              const std::vector<size_t>& pairs, const RmEvalOptions& opts,
                              const data::World* world);

// Evaluates a reference scorer (oracle, non-personalised, posterior, random).
nlohmann::json evaluate_scorer(const data::PairScorer& scorer, const RmTask& task,
                               const std::vector<size_t>& pairs, const std::vector<uint64_t>& seeds);

}  // namespace pgenrm::trainer
