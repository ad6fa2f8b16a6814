// What a reader of the prompt can know about a user's weights: a Bayesian
// posterior over PersonaWorld's prior (prototype mixture × Dirichlet around
// each prototype, represented by fixed seeded particles), updated by the
// history labels (each a Bradley–Terry observation σ(w_s · Δa / τ) on the
// attributes the reader perceives) and by the stated criteria (the
// generator's swap model). It knows the world's structure (prototypes,
// scenario multipliers, τ) but never this user's weights — the analog of a
// strong teacher that knows how people differ in general.
//
// Used by the ceiling scorer ("best achievable from the prompt") and by the
// teacher. Not here: choosing criteria or writing chains (data/teacher.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/history.h"
#include "data/personaworld.h"

namespace pgenrm::data {

// The evidence one prompt carries about its user.
struct Evidence {
  std::vector<int> stated;  // criterion indices, most important first
  struct Choice {
    int scenario = 0;
    std::vector<double> delta;  // attributes of chosen − rejected
  };
  std::vector<Choice> choices;
};

enum class AttributeSource { kPerceived, kTrue };
std::string_view attribute_source_name(AttributeSource s);  // "perceived" / "true"

// Attributes of response r (0 chosen, 1 rejected) as the given reader sees
// them: parsed from the text, or the truth (PersonaWorld pairs only).
std::vector<double> response_attributes(const World& w, const Pair& p, int r, AttributeSource src);

// Stated criteria (names unknown to the world are skipped) + history choices.
Evidence gather_evidence(const World& w, const User& user, const History& history,
                         AttributeSource src);

class Posterior {
 public:
  Posterior(const World& world, int64_t particles_per_prototype);

  // Normalised posterior mass of every particle.
  std::vector<double> mass(const Evidence& e) const;
  // Σ_i mass_i · w_i(scenario): the posterior mean of w(user, scenario).
  std::vector<double> mean_scenario_weights(const std::vector<double>& mass, int scenario) const;
  // Σ_i mass_i · w_i: the posterior mean of the scenario-free weights.
  std::vector<double> mean_user_weights(const std::vector<double>& mass) const;
  // Posterior mass of each prototype.
  std::vector<double> prototype_mass(const std::vector<double>& mass) const;

  size_t size() const { return proto_.size(); }

 private:
  double stated_log_likelihood(size_t i, const std::vector<int>& stated) const;

  const World* world_;
  std::vector<int> proto_;                                // [N]
  std::vector<std::vector<double>> user_w_;               // [N][D]
  std::vector<std::vector<std::vector<double>>> scen_w_;  // [N][S][D]
  std::vector<std::vector<int>> top_;                     // [N][stated_count]
};

}  // namespace pgenrm::data
