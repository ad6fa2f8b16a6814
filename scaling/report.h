// Evaluation of scaled scoring: one Ind-m/Pro-n row (accuracy ± SE over
// seeds, strict and repaired readings, per user group, chain validity,
// where the time went, and on PersonaWorld how often a neighbour shares the
// user's true prototype) and the paper's scaling table — the rows none,
// Ind-8, Ind-4/Pro-4, Ind-16, Ind-8/Pro-4, Ind-8/Pro-8, Ind-32,
// Ind-16/Pro-8, Ind-0/Pro-8, Ind-16/Pro-16 — with each row's wall time
// relative to no scaling (greedy Ind-1, measured the same way).
//
// Not here: the scoring itself (scorer.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scaling/scorer.h"

namespace pgenrm::scaling {

// {ind, pro} of the paper's rows; {1, 0} is "none" (one greedy chain).
const std::vector<std::pair<int64_t, int64_t>>& paper_rows();
std::string row_name(int64_t ind, int64_t pro);

nlohmann::json evaluate_scaled(const ScaledScorer& scorer, const std::vector<size_t>& pairs,
                               const std::vector<uint64_t>& seeds);

// Runs every row (Pro rows only when `protos` is given) and adds
// "relative_wall" to each; `make` builds a scorer for (ind, pro).
nlohmann::json scaling_table(const std::vector<std::pair<int64_t, int64_t>>& rows,
                             const std::function<ScaledScorer(int64_t, int64_t)>& make,
                             const std::vector<size_t>& pairs, const std::vector<uint64_t>& seeds);

// The table as Markdown (one line per row).
std::string table_markdown(const nlohmann::json& table);

}  // namespace pgenrm::scaling
