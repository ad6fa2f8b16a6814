// PersonaWorld: a seeded simulator of personalised preferences with a known
// ground truth (DESIGN.md §5). D criteria, S scenarios, P prototypes each
// with a distinct favourite criterion; users drawn around a prototype
// (Dirichlet); scenario weights w(u, s) = normalise(w_u ⊙ m(p_u, s)); each
// response has integer attributes 1..10 = shared quality + zero-sum profile
// (criteria trade off, so whose weights you use decides the winner); its
// text is ten-level words per criterion, each from a neighbouring level with
// probability word_noise; utility u = w · a and the label is drawn with
// P(A chosen) = σ((u_A − u_B)/τ). PRISM-like users state noisy top criteria,
// Arena-like users none; cold-start users have 0–1 train pairs. A pair is a
// hard negative when the population-average weights of its scenario do not
// prefer the chosen response (DESIGN.md §6).
//
// Same options ⇒ byte-identical output: every random draw comes from
// data/rng.h streams keyed by (world seed, user), and every stored number is
// rounded to 6 decimals before anything is derived from it.
//
// Not here: files (data/io.h), the teacher (data/teacher.h), scorers.
#pragma once

#include <string>
#include <vector>

#include "core/options.h"
#include "data/rng.h"
#include "data/types.h"

namespace pgenrm::data {

// Everything the generator decided that a scorer or report may need.
struct World {
  core::WorldOptions options;
  std::vector<std::string> criteria;                          // [D]
  std::vector<std::string> scenarios;                         // [S]
  std::vector<int> favourite, second;                         // [P] criterion index
  std::vector<std::vector<double>> prototype_weights;         // [P][D] base, sums to 1
  std::vector<std::vector<std::vector<double>>> multipliers;  // [P][S][D], > 0
  std::vector<std::vector<double>> population_weights;        // [S][D] mean of w(u, s) over users

  int num_criteria() const { return static_cast<int>(criteria.size()); }
  int num_scenarios() const { return static_cast<int>(scenarios.size()); }
  int num_prototypes() const { return static_cast<int>(prototype_weights.size()); }
  int criterion_index(const std::string& name) const;  // -1 if unknown
  int scenario_index(const std::string& name) const;   // throws if unknown
  // normalise(w_user ⊙ m(prototype, scenario)).
  std::vector<double> scenario_weights(const std::vector<double>& w_user, int prototype,
                                       int scenario) const;
};

struct GeneratedWorld {
  World world;
  Dataset dataset;  // indexed; users carry UserTruth, pairs carry PairTruth
};

// Throws pgenrm::Error naming the option when the options are inconsistent.
GeneratedWorld generate_world(const core::WorldOptions& options);

// The response text for attribute vector `a` (integers 1..10).
std::string render_response(const World& world, const std::vector<double>& a, Rng& rng);
// What a reader of the text can tell: per criterion the mean level of its
// words (5.5 when the text has none). Ignores words outside the lexicon.
std::vector<double> perceive_attributes(const World& world, const std::string& text);

// σ(x), numerically safe.
double sigmoid(double x);
double dot(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace pgenrm::data
