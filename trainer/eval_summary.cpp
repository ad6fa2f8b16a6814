#include "trainer/eval_summary.h"

#include <cmath>

#include "core/error.h"
#include <set>

#include <nlohmann/json.hpp>

namespace pgenrm::trainer {

Verdict verdict_from_scores(double chosen, double rejected) {
  if (!std::isfinite(chosen) || !std::isfinite(rejected)) return Verdict::kParseFailure;
  if (chosen == rejected) return Verdict::kTie;
  return chosen > rejected ? Verdict::kCorrect : Verdict::kWrong;
}

namespace {

EvalSummary summarize_flat(const std::vector<const PairOutcome*>& items) {
  EvalSummary s;
  s.n_items = static_cast<int64_t>(items.size());
  if (items.empty()) return s;
  std::map<int64_t, std::pair<double, int>> per_pair;  // correct sum, count
  std::map<int64_t, std::pair<double, int>> per_seed;
  int64_t correct = 0;
  for (const auto* o : items) {
    const bool ok = o->verdict == Verdict::kCorrect;
    correct += ok;
    s.ties += o->verdict == Verdict::kTie;
    s.parse_failures += o->verdict == Verdict::kParseFailure;
    per_pair[o->pair].first += ok;
    per_pair[o->pair].second += 1;
    per_seed[o->seed].first += ok;
    per_seed[o->seed].second += 1;
  }
  s.n_pairs = static_cast<int64_t>(per_pair.size());
  s.accuracy = static_cast<double>(correct) / s.n_items;
  const int64_t decided = s.n_items - s.ties - s.parse_failures;
  s.accuracy_ties_dropped = decided > 0 ? static_cast<double>(correct) / decided : 0.0;
  // SE of the mean of per-pair accuracies.
  double mean = 0;
  for (auto& [p, v] : per_pair) mean += v.first / v.second;
  mean /= s.n_pairs;
  double var = 0;
  for (auto& [p, v] : per_pair) var += std::pow(v.first / v.second - mean, 2);
  s.se = s.n_pairs > 1 ? std::sqrt(var / (s.n_pairs - 1) / s.n_pairs) : 0.0;
  for (auto& [seed, v] : per_seed) s.seed_accuracy.push_back(v.first / v.second);
  for (auto& [p, v] : per_pair) s.pair_accuracy.push_back(v.first / v.second);
  return s;
}

}  // namespace

EvalSummary summarize(const std::vector<PairOutcome>& outcomes,
                      const std::vector<std::string>& group_names) {
  std::vector<const PairOutcome*> all;
  for (const auto& o : outcomes) all.push_back(&o);
  EvalSummary s = summarize_flat(all);
  for (const auto& g : group_names) {
    std::vector<const PairOutcome*> in;
    for (const auto& o : outcomes)
      for (const auto& og : o.groups)
        if (og == g) {
          in.push_back(&o);
          break;
        }
    s.groups[g] = summarize_flat(in);
    s.groups[g].pair_accuracy.clear();
  }
  return s;
}

void to_json(nlohmann::json& j, const EvalSummary& s) {
  j = nlohmann::json{{"accuracy", s.accuracy},
                     {"se", s.se},
                     {"n_pairs", s.n_pairs},
                     {"n_items", s.n_items},
                     {"ties", s.ties},
                     {"parse_failures", s.parse_failures},
                     {"accuracy_ties_dropped", s.accuracy_ties_dropped},
                     {"seed_accuracy", s.seed_accuracy}};
  if (s.oracle_accuracy >= 0) j["oracle_accuracy"] = s.oracle_accuracy;
  if (!s.pair_accuracy.empty()) j["pair_accuracy"] = s.pair_accuracy;
  if (s.wall_s > 0) j["wall_s"] = s.wall_s;
  if (!s.groups.empty()) {
    nlohmann::json g = nlohmann::json::object();
    for (const auto& [name, sub] : s.groups) to_json(g[name], sub);
    j["groups"] = g;
  }
}

PairedDiff paired_difference(const std::vector<double>& a, const std::vector<double>& b) {
  PGENRM_CHECK(a.size() == b.size(), "paired comparison of " + std::to_string(a.size()) + " and " +
                                         std::to_string(b.size()) + " pairs",
               "compare scorers evaluated on the same pairs");
  PairedDiff d;
  d.n = static_cast<int64_t>(a.size());
  if (d.n == 0) return d;
  for (size_t i = 0; i < a.size(); ++i) d.diff += a[i] - b[i];
  d.diff /= static_cast<double>(d.n);
  double var = 0;
  for (size_t i = 0; i < a.size(); ++i) var += std::pow(a[i] - b[i] - d.diff, 2);
  d.se = d.n > 1 ? std::sqrt(var / static_cast<double>(d.n - 1) / static_cast<double>(d.n)) : 0.0;
  return d;
}

}  // namespace pgenrm::trainer
