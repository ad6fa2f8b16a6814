// Totals and equality of the Chain value. Nothing here reads or writes text
// (render.cpp / parse.cpp do).
#include "chain/chain.h"

#include <cstdint>

#include "core/error.h"

namespace pgenrm::chain {

std::vector<double> recompute_totals(const Chain& c) {
  std::vector<double> totals;
  totals.reserve(c.scores.size());
  for (std::size_t r = 0; r < c.scores.size(); ++r) {
    PGENRM_CHECK(c.scores[r].size() == c.criteria.size(),
                 "chain response " + std::to_string(r + 1) + " has " +
                     std::to_string(c.scores[r].size()) + " scores for " +
                     std::to_string(c.criteria.size()) + " criteria",
                 "build one score per criterion for every response (scores[r][c])");
    std::int64_t sum = 0;
    for (std::size_t k = 0; k < c.criteria.size(); ++k) {
      sum += std::int64_t{c.criteria[k].weight} * c.scores[r][k];
    }
    // One division of an exact integer: 735 / 100.0 is the double nearest
    // 7.35, the same one strtod("7.35") gives, so render → parse is exact.
    totals.push_back(static_cast<double>(sum) / 100.0);
  }
  return totals;
}

std::string response_key(std::size_t r) { return "response_" + std::to_string(r + 1); }

bool operator==(const Criterion& a, const Criterion& b) {
  return a.name == b.name && a.weight == b.weight;
}

bool operator==(const Chain& a, const Chain& b) {
  return a.persona == b.persona && a.scenario == b.scenario && a.derivation == b.derivation &&
         a.criteria == b.criteria && a.scores == b.scores && a.stated_totals == b.stated_totals;
}

}  // namespace pgenrm::chain
