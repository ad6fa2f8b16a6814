// The reference scorers (see scorers.h).
#include "data/scorers.h"

#include "core/error.h"
#include "data/rng.h"

namespace pgenrm::data {

namespace {

const PairTruth& truth_of(const Pair& p, const char* scorer) {
  PGENRM_CHECK(p.truth.has_value(),
               std::string("the ") + scorer + " scorer needs ground truth, and pair '" + p.pair_id +
                   "' has none",
               "it scores PersonaWorld pairs only (read with their truth fields)");
  return *p.truth;
}

class OracleScorer : public PairScorer {
 public:
  std::string name() const override { return "oracle"; }
  std::vector<double> score(const Pair& p, const User&, const History&) const override {
    const PairTruth& t = truth_of(p, "oracle");
    return {t.utility_chosen, t.utility_rejected};
  }
};

class NonPersonalisedScorer : public PairScorer {
 public:
  explicit NonPersonalisedScorer(const World& w) : world_(&w) {}
  std::string name() const override { return "non_personalised"; }
  std::vector<double> score(const Pair& p, const User&, const History&) const override {
    const PairTruth& t = truth_of(p, "non-personalised");
    const auto& w = world_->population_weights[world_->scenario_index(p.scenario)];
    // Scored as a difference so the sign is exactly the hard-negative rule.
    std::vector<double> delta(t.attributes_chosen.size());
    for (size_t c = 0; c < delta.size(); ++c)
      delta[c] = t.attributes_chosen[c] - t.attributes_rejected[c];
    return {dot(w, delta), 0.0};
  }

 private:
  const World* world_;
};

class PosteriorScorer : public PairScorer {
 public:
  PosteriorScorer(const World& w, const Posterior& post, AttributeSource src, bool use_stated)
      : world_(&w), post_(&post), src_(src), use_stated_(use_stated) {}
  std::string name() const override {
    return std::string(use_stated_ ? "posterior_" : "posterior_history_only_") +
           std::string(attribute_source_name(src_));
  }
  std::vector<double> score(const Pair& p, const User& u, const History& h) const override {
    Evidence e = gather_evidence(*world_, u, h, src_);
    if (!use_stated_) e.stated.clear();
    const auto mass = post_->mass(e);
    const auto w = post_->mean_scenario_weights(mass, world_->scenario_index(p.scenario));
    return {dot(w, response_attributes(*world_, p, 0, src_)),
            dot(w, response_attributes(*world_, p, 1, src_))};
  }

 private:
  const World* world_;
  const Posterior* post_;
  AttributeSource src_;
  bool use_stated_;
};

class RandomScorer : public PairScorer {
 public:
  explicit RandomScorer(uint64_t seed) : seed_(seed) {}
  std::string name() const override { return "random"; }
  std::vector<double> score(const Pair& p, const User&, const History&) const override {
    Rng rng(derive_seed(seed_, "random_scorer", p.pair_id));
    return {rng.uniform(), rng.uniform()};
  }

 private:
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<PairScorer> make_oracle_scorer() { return std::make_unique<OracleScorer>(); }
std::unique_ptr<PairScorer> make_non_personalised_scorer(const World& w) {
  return std::make_unique<NonPersonalisedScorer>(w);
}
std::unique_ptr<PairScorer> make_posterior_scorer(const World& w, const Posterior& post,
                                                  AttributeSource src, bool use_stated) {
  return std::make_unique<PosteriorScorer>(w, post, src, use_stated);
}
std::unique_ptr<PairScorer> make_random_scorer(uint64_t seed) {
  return std::make_unique<RandomScorer>(seed);
}

bool prefers_chosen(const std::vector<double>& s, bool* tie) {
  PGENRM_CHECK(s.size() == 2, "a pair scorer must return two scores", "");
  if (tie) *tie = s[0] == s[1];
  return s[0] > s[1];
}

}  // namespace pgenrm::data
