// History sampling: shuffle the user's candidate pairs with a stream seeded
// by (seed, evaluated pair id), optionally put same-scenario pairs first,
// keep h.
#include "data/history.h"

#include <algorithm>

#include "data/rng.h"

namespace pgenrm::data {

History sample_history(const Dataset& ds, const Pair& evaluated, const HistoryOptions& opts,
                       uint64_t seed) {
  const size_t u = ds.user_index(evaluated.user_id);
  if (opts.empty_for_cold_start && ds.users[u].cold_start) return {};
  History candidates;
  for (Split s : {Split::kTrain, Split::kVal}) {
    if (s == Split::kVal && !opts.include_val) continue;
    for (size_t i : ds.user_pairs(u, s))
      if (ds.pairs[i].pair_id != evaluated.pair_id) candidates.push_back(&ds.pairs[i]);
  }
  Rng rng(derive_seed(seed, "history", evaluated.pair_id));
  rng.shuffle(candidates);
  if (opts.prefer_same_scenario && !evaluated.scenario.empty())
    std::stable_partition(candidates.begin(), candidates.end(),
                          [&](const Pair* p) { return p->scenario == evaluated.scenario; });
  if (opts.h >= 0 && candidates.size() > static_cast<size_t>(opts.h))
    candidates.resize(static_cast<size_t>(opts.h));
  return candidates;
}

History FlippedHistory::view() const {
  History h;
  for (const Pair& p : pairs) h.push_back(&p);
  return h;
}

FlippedHistory flip_history(const History& history) {
  FlippedHistory f;
  for (const Pair* p : history) {
    Pair x = *p;
    std::swap(x.chosen, x.rejected);
    std::swap(x.chosen_score, x.rejected_score);
    if (x.truth) {
      std::swap(x.truth->attributes_chosen, x.truth->attributes_rejected);
      std::swap(x.truth->utility_chosen, x.truth->utility_rejected);
      x.truth->p_chosen = 1.0 - x.truth->p_chosen;
    }
    f.pairs.push_back(std::move(x));
  }
  return f;
}

}  // namespace pgenrm::data
