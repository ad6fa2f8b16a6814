// Chain → canonical text (DESIGN.md §4), the exact form the model learns in
// SFT and parse() reads back. Render writes what the Chain says — it does not
// validate weights, score ranges or totals (so tests and the teacher can
// render deliberately wrong chains); parse() is the validator.
#pragma once

#include <string>

#include "chain/chain.h"

namespace pgenrm::chain {

// The full chain text, Part 1 lines each on its own line, no trailing newline:
//
//   PART 1: Preference Modeling
//   Persona: ...
//   Scenario: ...
//   Criteria derivation: ...
//   PART 2: Final Scoring Scheme
//   <JSON_START>{"rationale": "...", "better_response": {"response_1": 7.35, ...}}<JSON_END>
//
// Weights and scores print as integers, totals with two decimals. An empty
// `stated_totals` renders the recomputed totals (what a faithful writer
// states). Throws pgenrm::Error on a chain of the wrong shape: fewer than two
// responses, a score row without one score per criterion, a stated_totals of
// another length, or a non-finite total.
std::string render(const Chain& c);

// The rationale string alone (before JSON escaping):
// "A. Evaluation Criteria & Weights: 1. brevity (40%) 2. depth (60%) B. Scoring
// Breakdown: Response 1: brevity 7/10 depth 4/10 Final = 5.20 Response 2: ..."
std::string render_rationale(const Chain& c);

// A total as the chain prints it: two decimals ("7.35", "6.00").
std::string format_total(double total);

}  // namespace pgenrm::chain
