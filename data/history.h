// History sampling: the h preference pairs of a user that a prompt shows
// next to the pair being evaluated. Deterministic in (seed, evaluated pair
// id), so the teacher, the trainer and the evaluation see the same history
// for the same pair and seed, on every machine.
//
// Not here: rendering the history into text (data/prompt.h).
#pragma once

#include <cstdint>
#include <vector>

#include "data/types.h"

namespace pgenrm::data {

struct HistoryOptions {
  int64_t h = 3;                      // pairs shown at most
  bool include_val = true;            // draw from train + val (else train only)
  bool prefer_same_scenario = false;  // same-scenario pairs first, then the rest
  // A cold-start user has 0–1 pairs to draw from anyway; with this on they
  // get none at all (the strict reading of "no history").
  bool empty_for_cold_start = false;
};

// Pointers into ds.pairs, in the order the prompt shows them; never contains
// `evaluated`. `ds` must be indexed and must outlive the result.
using History = std::vector<const Pair*>;
History sample_history(const Dataset& ds, const Pair& evaluated, const HistoryOptions& opts,
                       uint64_t seed);

// The history with every preference reversed (chosen ↔ rejected, and the
// truth swapped to match): the input of the history-sensitivity diagnostic
// (DESIGN.md §5: a personalised RM must change its verdict when the user's
// history is flipped). Owns the flipped copies; view() points into them.
struct FlippedHistory {
  std::vector<Pair> pairs;
  History view() const;
};
FlippedHistory flip_history(const History& history);

}  // namespace pgenrm::data
