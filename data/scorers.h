// Reference scorers the evaluation harness runs next to the reward model:
// they map (pair, user, history) to one score per response and need no
// model. The harness counts a pair correct when score[0] (chosen) >
// score[1] (rejected); equal scores are ties, reported separately.
//
//   oracle             the user's true utilities (PersonaWorld truth)
//   non_personalised   the scenario's population-average weights · true
//                      attributes; exactly the hard-negative rule
//   posterior          posterior-mean weights from the prompt's evidence
//                      (history + stated criteria) · attributes read from
//                      the text (or the true ones): the achievable ceiling
//   posterior_history_only  the same without the stated criteria (what a
//                      CRE prompt supports)
//   random             a coin per pair, seeded by (seed, pair id)
//
// Not here: the reward model or the teacher's chains (data/teacher.h wraps
// the teacher as a scorer), aggregation into reports (data/calibrate.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/history.h"
#include "data/posterior.h"
#include "data/types.h"

namespace pgenrm::data {

class PairScorer {
 public:
  virtual ~PairScorer() = default;
  virtual std::string name() const = 0;
  // One score per response in the pair's original order {chosen, rejected};
  // higher = this user prefers it more, according to the scorer.
  virtual std::vector<double> score(const Pair& pair, const User& user,
                                    const History& history) const = 0;
};

std::unique_ptr<PairScorer> make_oracle_scorer();
std::unique_ptr<PairScorer> make_non_personalised_scorer(const World& world);
// `posterior` must outlive the scorer. use_stated = false ignores the stated
// criteria: the ceiling of a CRE prompt, which shows the history only.
// Named "posterior_<src>" or "posterior_history_only_<src>".
std::unique_ptr<PairScorer> make_posterior_scorer(const World& world, const Posterior& posterior,
                                                  AttributeSource src, bool use_stated = true);
std::unique_ptr<PairScorer> make_random_scorer(uint64_t seed);

// 1 when score[0] > score[1], 0 otherwise; `tie` set when they are equal.
bool prefers_chosen(const std::vector<double>& scores, bool* tie = nullptr);

}  // namespace pgenrm::data
