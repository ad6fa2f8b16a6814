// Outcome, process (rule-based) and stage rewards. The formulas are stated in
// rewards.h; this file holds the name normalisation, the default synonym
// table and the arithmetic. No HTTP (judge.cpp), no tensors.
#include "chain/rewards.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::chain {
namespace {

bool ends_with(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void drop(std::string& w, std::size_t n) { w.resize(w.size() - n); }

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

// "formatt" → "format" after -ed/-ing (but "fill", "pass", "buzz" keep theirs).
void undouble(std::string& w) {
  std::size_t n = w.size();
  if (n >= 2 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && w[n - 1] != 'l' && w[n - 1] != 's' &&
      w[n - 1] != 'z') {
    drop(w, 1);
  }
}

bool is_word_byte(unsigned char c) { return std::isalnum(c) != 0 || c >= 0x80; }

// Generic words that say nothing about which criterion is meant.
const std::set<std::string>& stop_words() {
  static const std::set<std::string> kStop = [] {
    std::set<std::string> s;
    for (const char* w : {"a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "by", "is", "be",
                          "response", "responses", "answer", "reply", "level", "degree", "amount", "quality",
                          "style", "overall", "general", "good", "high", "low", "use", "user", "content"}) {
      s.insert(stem(w));
    }
    return s;
  }();
  return kStop;
}

bool contains_at(const std::vector<std::string>& words, std::size_t i, const std::vector<std::string>& phrase) {
  if (i + phrase.size() > words.size()) return false;
  return std::equal(phrase.begin(), phrase.end(), words.begin() + static_cast<std::ptrdiff_t>(i));
}

}  // namespace

// --- outcome and stage rewards --------------------------------------------------

double outcome_reward(const std::vector<double>& totals, std::size_t chosen, std::size_t rejected) {
  PGENRM_CHECK(chosen < totals.size() && rejected < totals.size() && chosen != rejected,
               "outcome_reward: chosen " + std::to_string(chosen) + " / rejected " + std::to_string(rejected) +
                   " with " + std::to_string(totals.size()) + " totals",
               "pass two different 0-based response indices in the order of `totals`");
  return totals[chosen] > totals[rejected] ? 1.0 : 0.0;
}

double outcome_reward(const ParseResult& parsed, std::size_t chosen, std::size_t rejected) {
  std::optional<std::vector<double>> totals = extract_scores(parsed);
  return totals ? outcome_reward(*totals, chosen, rejected) : kFormatErrorReward;
}

double cre_reward(double pr, double outcome, double alpha, double beta) { return alpha * pr + beta * outcome; }

double curriculum_reward(double outcome, double beta) { return beta * outcome; }

// --- names -------------------------------------------------------------------------

std::string stem(std::string_view word) {
  std::string w(word);
  if (w.size() <= 3) return w;
  if (ends_with(w, "iness") && w.size() > 6) {
    drop(w, 5);
    w += 'y';
  } else if (ends_with(w, "ness") && w.size() > 5) {
    drop(w, 4);
  }
  if (ends_with(w, "ies") && w.size() > 4) {
    drop(w, 3);
    w += 'y';
  } else if (ends_with(w, "sses")) {
    drop(w, 2);
  } else if (ends_with(w, "s") && !ends_with(w, "ss") && !ends_with(w, "us") && !ends_with(w, "is") &&
             w.size() > 3) {
    drop(w, 1);
  }
  if (ends_with(w, "ed") && w.size() > 4) {
    drop(w, 2);
    undouble(w);
  } else if (ends_with(w, "ing") && w.size() > 5) {
    drop(w, 3);
    undouble(w);
  }
  if (ends_with(w, "ly") && w.size() > 4) drop(w, 2);
  if (ends_with(w, "e") && w.size() > 3) drop(w, 1);
  return w;
}

std::vector<std::string> normalise_words(std::string_view name) {
  std::vector<std::string> words;
  std::string cur;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (is_word_byte(c)) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      words.push_back(stem(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(stem(cur));
  return words;
}

// --- synonym table -----------------------------------------------------------------

SynonymTable::SynonymTable(const std::map<std::string, std::vector<std::string>>& groups) {
  for (const auto& [concept_name, entries] : groups) {
    add(concept_name, concept_name);
    for (const std::string& e : entries) add(concept_name, e);
  }
  // Longest phrases first, so "step by step" wins over a shorter overlap.
  std::stable_sort(phrases_.begin(), phrases_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void SynonymTable::add(const std::string& concept_name, const std::string& entry) {
  std::vector<std::string> words = normalise_words(entry);
  PGENRM_CHECK(!words.empty(), "synonym table: entry '" + entry + "' of '" + concept_name + "' has no words",
               "use letters or digits in every synonym");
  if (words.size() == 1) {
    auto [it, inserted] = words_.emplace(words[0], concept_name);
    PGENRM_CHECK(inserted || it->second == concept_name,
                 "synonym table: '" + entry + "' (stem '" + words[0] + "') is in both '" + it->second + "' and '" +
                     concept_name + "'",
                 "put each synonym in one group only; a word in two groups would make them match each other");
    return;
  }
  for (const auto& [phrase, owner] : phrases_) {
    PGENRM_CHECK(phrase != words || owner == concept_name,
                 "synonym table: phrase '" + entry + "' is in both '" + owner + "' and '" + concept_name + "'",
                 "put each synonym in one group only");
  }
  phrases_.emplace_back(std::move(words), concept_name);
}

std::set<std::string> SynonymTable::concepts(std::string_view name) const {
  const std::vector<std::string> words = normalise_words(name);
  std::vector<bool> used(words.size(), false);
  std::set<std::string> out;
  for (const auto& [phrase, concept_name] : phrases_) {
    for (std::size_t i = 0; i < words.size(); ++i) {
      if (!contains_at(words, i, phrase)) continue;
      out.insert(concept_name);
      std::fill(used.begin() + static_cast<std::ptrdiff_t>(i),
                used.begin() + static_cast<std::ptrdiff_t>(i + phrase.size()), true);
    }
  }
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (used[i] || stop_words().count(words[i]) > 0) continue;
    auto it = words_.find(words[i]);
    out.insert(it != words_.end() ? it->second : "=" + words[i]);
  }
  return out;
}

SynonymTable SynonymTable::from_json(std::string_view json_text) {
  const char* kHint = "write the table as a JSON object {\"concept\": [\"synonym\", ...], ...}";
  nlohmann::json j = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  PGENRM_CHECK(j.is_object(), "synonym table is not a JSON object", kHint);
  std::map<std::string, std::vector<std::string>> groups;
  for (auto it = j.begin(); it != j.end(); ++it) {
    PGENRM_CHECK(it.value().is_array(), "synonym table: '" + it.key() + "' is not a list", kHint);
    for (const auto& e : it.value()) {
      PGENRM_CHECK(e.is_string(), "synonym table: '" + it.key() + "' holds a non-string", kHint);
      groups[it.key()].push_back(e.get<std::string>());
    }
    groups[it.key()];  // an empty list still declares the concept
  }
  return SynonymTable(groups);
}

const SynonymTable& SynonymTable::defaults() {
  // Words are stemmed on both sides, so inflections need not be listed
  // unless the stemmer misses them (organization vs organized).
  static const SynonymTable kDefaults({
      {"brevity", {"brief", "concise", "conciseness", "short", "shorter", "succinct", "terse", "length", "lengthy",
                   "verbosity", "verbose", "wordiness", "compact", "to the point", "direct", "directness",
                   "crisp", "economy of words", "tl dr"}},
      {"depth", {"deep", "detail", "thorough", "comprehensive", "comprehensiveness", "complete", "completeness",
                 "extensive", "elaborate", "elaboration", "in depth", "informative", "informativeness", "nuance",
                 "nuanced", "rigor", "rigorous", "exhaustive", "depth of explanation"}},
      {"structure", {"structured", "organization", "organisation", "organized", "organised", "format", "formatting",
                     "layout", "clarity", "clear", "readability", "readable", "coherence", "coherent",
                     "logical flow", "flow", "bullet points", "step by step", "well organized"}},
      {"warmth", {"warm", "empathy", "empathetic", "empathic", "friendly", "friendliness", "kind", "kindness",
                  "compassion", "compassionate", "supportive", "caring", "encouraging", "encouragement",
                  "gentle", "personable", "emotional support", "sympathy", "sympathetic"}},
      {"formality", {"formal", "professional", "professionalism", "polite", "politeness", "tone", "courteous",
                     "courtesy", "respectful", "etiquette", "register", "businesslike"}},
      {"creativity", {"creative", "original", "originality", "imaginative", "imagination", "novel", "novelty",
                      "inventive", "inventiveness", "unique", "uniqueness", "unconventional", "fresh ideas"}},
      {"caution", {"cautious", "safety", "safe", "careful", "carefulness", "risk", "risky", "harm", "harmless",
                   "harmlessness", "responsible", "disclaimer", "warning", "prudent", "prudence",
                   "risk awareness"}},
      {"practicality", {"practical", "actionable", "actionability", "useful", "usefulness", "usable",
                        "applicable", "applicability", "concrete", "hands on", "feasible", "feasibility",
                        "pragmatic", "real world", "implementable", "utility"}},
  });
  return kDefaults;
}

// --- rule-based PR -----------------------------------------------------------------

std::vector<double> normalised_user_weights(const std::vector<UserCriterion>& user) {
  double sum = 0.0;
  for (const UserCriterion& u : user) {
    PGENRM_CHECK(std::isfinite(u.weight) && u.weight >= 0.0,
                 "user criterion '" + u.name + "' has weight " + std::to_string(u.weight),
                 "user criterion weights must be finite and >= 0 (all 0 means equal weights)");
    sum += u.weight;
  }
  std::vector<double> w(user.size(), user.empty() ? 0.0 : 1.0 / static_cast<double>(user.size()));
  if (sum > 0.0) {
    for (std::size_t i = 0; i < user.size(); ++i) w[i] = user[i].weight / sum;
  }
  return w;
}

RuleScorer::RuleScorer(SynonymTable table, double weight_sensitivity)
    : table_(std::move(table)), lambda_(weight_sensitivity) {
  PGENRM_CHECK(lambda_ >= 0.0 && lambda_ <= 1.0,
               "rule PR weight_sensitivity is " + std::to_string(lambda_), "choose a value in [0, 1]");
}

bool RuleScorer::matches(std::string_view user_name, std::string_view chain_name) const {
  std::set<std::string> a = table_.concepts(user_name);
  std::set<std::string> b = table_.concepts(chain_name);
  return std::any_of(a.begin(), a.end(), [&](const std::string& c) { return b.count(c) > 0; });
}

double RuleScorer::score(const std::vector<UserCriterion>& user, const std::vector<Criterion>& chain) const {
  if (user.empty()) return kNoUserCriteriaReward;
  const std::vector<double> w_user = normalised_user_weights(user);
  double chain_sum = 0.0;
  for (const Criterion& c : chain) chain_sum += std::max(0, c.weight);
  std::vector<std::set<std::string>> chain_concepts;
  for (const Criterion& c : chain) chain_concepts.push_back(table_.concepts(c.name));

  double pr = 0.0;
  for (std::size_t u = 0; u < user.size(); ++u) {
    const std::set<std::string> mine = table_.concepts(user[u].name);
    bool matched = false;
    double chain_weight = 0.0;  // ĉ_u before the cap
    for (std::size_t k = 0; k < chain.size(); ++k) {
      bool shares = std::any_of(mine.begin(), mine.end(),
                                [&](const std::string& c) { return chain_concepts[k].count(c) > 0; });
      if (!shares) continue;
      matched = true;
      // A chain whose weights are all 0 spreads its emphasis equally.
      chain_weight += chain_sum > 0.0 ? std::max(0, chain[k].weight) / chain_sum
                                      : 1.0 / static_cast<double>(chain.size());
    }
    if (!matched) continue;
    const double closeness = 1.0 - std::fabs(w_user[u] - std::min(1.0, chain_weight));
    pr += w_user[u] * ((1.0 - lambda_) + lambda_ * closeness);
  }
  return std::clamp(pr, 0.0, 1.0);  // only rounding can push it past 1
}

double process_reward(const ProcessScorer& scorer, const std::vector<UserCriterion>& user,
                      const ParseResult& parsed) {
  if (!parsed.ok() || !parsed.chain) return 0.0;
  return scorer.score(user, parsed.chain->criteria);
}

}  // namespace pgenrm::chain
