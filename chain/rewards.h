// Rewards computed from a parsed chain (DESIGN.md §4): the outcome reward OR,
// the rule-based process reward PR, and the stage rewards that combine them.
// The LLM-judge PR scorer is in judge.h. Nothing here touches tensors or
// advantages (trainer/ does); these are plain numbers per chain.
//
// Outcome OR = 1 if the chosen response's RECOMPUTED total is strictly above
// the rejected one's, 0 otherwise — a tie gives 0 (the chain did not prefer
// the chosen response), a chain that fails to parse gives −0.1.
//
// Process PR ∈ [0,1], how well the chain's criteria cover the user's explicit
// criteria U (stated, or synthesised from the history), weight-aware:
//
//   ŵ_u  = w_u / Σ w          the user's weights, normalised (equal if all 0)
//   M(u) = chain criteria whose name matches u (shared concept, below)
//   ĉ_u  = min(1, Σ_{c∈M(u)} w_c / Σ_c w_c)     the chain's weight on u
//   credit_u = 0                               if M(u) is empty
//            = (1 − λ) + λ · (1 − |ŵ_u − ĉ_u|) otherwise
//   PR   = Σ_u ŵ_u · credit_u
//
// so covering every criterion earns at least 1 − λ, and the rest comes from
// putting the user's emphasis where the user puts it (λ = weight_sensitivity,
// default 0.5; λ = 0 is pure weighted coverage). Every term lies in [0,1],
// hence PR does. No user criteria → PR = 0 (kNoUserCriteriaReward): constant
// across a GRPO group, so it moves no advantage, and it claims no coverage.
// A chain that failed to parse covers nothing: PR = 0.
//
// Names match through concepts: a name is lower-cased, punctuation becomes
// space, each word is stemmed (plural -s/-ies, -ness, -ed, -ing, -ly, final
// -e), generic words are dropped (response, level, quality, style, ...), and
// each remaining word or phrase maps to its synonym group in the
// SynonymTable, or stands for itself. Two names match when they share a
// concept ("level of detail" ~ "thoroughness"; "response length" ~ "brevity").
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chain/chain.h"
#include "chain/parse.h"

namespace pgenrm::chain {

inline constexpr double kFormatErrorReward = -0.1;
inline constexpr double kNoUserCriteriaReward = 0.0;
inline constexpr double kDefaultAlpha = 0.5;  // CRE weight of PR
inline constexpr double kDefaultBeta = 1.0;   // weight of OR in both GRPO stages

// --- outcome reward ------------------------------------------------------------

// `totals` and the two indices in the same order (prompt order, or original
// order after Shuffle::to_original). 1 if totals[chosen] > totals[rejected],
// else 0. Throws pgenrm::Error on an index out of range or chosen == rejected.
double outcome_reward(const std::vector<double>& totals, std::size_t chosen, std::size_t rejected);
// The same from a parse: −0.1 if it failed; indices in PROMPT order (use
// Shuffle::prompt_position to get them from original indices).
double outcome_reward(const ParseResult& parsed, std::size_t chosen, std::size_t rejected);

// --- stage rewards ------------------------------------------------------------

// CRE (stage 2): R = α·PR + β·OR.
double cre_reward(double pr, double outcome, double alpha = kDefaultAlpha, double beta = kDefaultBeta);
// Hard-negative curriculum (stage 3): R = β·OR.
double curriculum_reward(double outcome, double beta = kDefaultBeta);

// --- process reward -----------------------------------------------------------

// One criterion the user holds, with its importance (any non-negative scale:
// survey ratings, percent, ...; normalised here).
struct UserCriterion {
  std::string name;
  double weight = 0.0;
};

// Lower-case ASCII words of a name with punctuation split off, each stemmed.
std::vector<std::string> normalise_words(std::string_view name);
// The crude suffix stemmer the matcher uses; both sides of every comparison
// go through it, so consistency matters more than linguistics.
std::string stem(std::string_view word);

// Synonym groups: concept → words or phrases meaning it. Configurable; the
// default covers the PersonaWorld criteria.
class SynonymTable {
 public:
  // Each group implicitly contains its concept name. Throws pgenrm::Error if a
  // word or phrase (after normalisation) lands in two groups.
  explicit SynonymTable(const std::map<std::string, std::vector<std::string>>& groups);
  // {"brevity": ["concise", "short", ...], ...}; throws pgenrm::Error with a
  // hint on text that is not such an object.
  static SynonymTable from_json(std::string_view json_text);
  // brevity, depth, structure, warmth, formality, creativity, caution,
  // practicality — the PersonaWorld criteria (DESIGN.md §5).
  static const SynonymTable& defaults();

  // The concepts a criterion name mentions: group names for the synonyms it
  // contains, "=<stem>" for its other content words.
  std::set<std::string> concepts(std::string_view name) const;

 private:
  void add(const std::string& concept_name, const std::string& entry);

  std::unordered_map<std::string, std::string> words_;                    // stem → concept
  std::vector<std::pair<std::vector<std::string>, std::string>> phrases_;  // stems → concept
};

// A PR scorer: rule-based (below) or an LLM judge (judge.h).
class ProcessScorer {
 public:
  virtual ~ProcessScorer() = default;
  // PR ∈ [0,1] of a chain with these criteria for a user with these.
  virtual double score(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) const = 0;
};

class RuleScorer : public ProcessScorer {
 public:
  explicit RuleScorer(SynonymTable table = SynonymTable::defaults(), double weight_sensitivity = 0.5);
  // The formula at the top of this file. Throws pgenrm::Error on a negative or
  // non-finite user weight (a data bug, with a hint).
  double score(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) const override;
  bool matches(std::string_view user_name, std::string_view chain_name) const;

 private:
  SynonymTable table_;
  double lambda_;
};

// PR of a parse: 0 if it failed, else scorer.score(user, chain criteria).
double process_reward(const ProcessScorer& scorer, const std::vector<UserCriterion>& user, const ParseResult& parsed);

// The user weights ŵ_u: normalised to sum 1, equal when all are 0. Throws
// pgenrm::Error on a negative or non-finite weight.
std::vector<double> normalised_user_weights(const std::vector<UserCriterion>& user);

}  // namespace pgenrm::chain
