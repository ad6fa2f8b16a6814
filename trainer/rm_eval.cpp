#include "trainer/rm_eval.h"

#include <chrono>
#include <cmath>

#include "data/scorers.h"

namespace pgenrm::trainer {

using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Chain criteria → a weight per world criterion (percent); unknown names
// are ignored, so they count as weight on nothing the user values.
std::vector<double> chain_weights(const data::World& w, const chain::Chain& c) {
  std::vector<double> out(w.num_criteria(), 0.0);
  for (const auto& cr : c.criteria) {
    const int k = w.criterion_index(cr.name);
    if (k >= 0) out[k] += cr.weight;
  }
  return out;
}

struct TruthErrors {
  double weight_sum = 0, score_sum = 0;
  int64_t weight_n = 0, score_n = 0;
  void add(const data::World& w, const data::Pair& p, const ReadChain& r,
           const std::vector<int>& order) {
    const auto& parsed = r.parsed.chain ? r.parsed.chain : r.parsed.breakdown;
    if (!p.truth || !parsed) return;
    const chain::Chain& c = *parsed;
    const std::vector<double> cw = chain_weights(w, c);
    for (int k = 0; k < w.num_criteria(); ++k) {
      weight_sum += std::abs(cw[k] - 100.0 * p.truth->weights[k]);
      ++weight_n;
    }
    for (size_t pos = 0; pos < c.scores.size() && pos < order.size(); ++pos) {
      const auto& attrs = order[pos] == 0 ? p.truth->attributes_chosen : p.truth->attributes_rejected;
      for (size_t ci = 0; ci < c.criteria.size(); ++ci) {
        const int k = w.criterion_index(c.criteria[ci].name);
        if (k < 0) continue;
        score_sum += std::abs(c.scores[pos][ci] - attrs[k]);
        ++score_n;
      }
    }
  }
};

}  // namespace

const std::vector<std::string>& report_groups() {
  static const std::vector<std::string> g = {"stated_criteria", "no_criteria", "cold_start",
                                             "warm", "hard_negative", "easy"};
  return g;
}

std::vector<std::string> pair_groups(const data::Dataset& ds, const data::Pair& p) {
  const data::User& u = ds.user_of(p);
  std::vector<std::string> g;
  g.push_back(u.has_stated_criteria() ? "stated_criteria" : "no_criteria");
  g.push_back(u.cold_start ? "cold_start" : "warm");
  g.push_back(p.hard_negative ? "hard_negative" : "easy");
  return g;
}

std::pair<double, int64_t> history_sensitivity(const RmTask& task, const std::vector<size_t>& pairs,
                                               uint64_t seed, const HistoryScorer& scorer) {
  int64_t n = 0, flipped = 0;
  for (size_t i : pairs) {
    const data::Pair& p = task.dataset().pairs[i];
    if (!p.hard_negative) continue;
    const data::History h = task.history(i, seed);
    if (h.empty()) continue;
    const data::FlippedHistory f = data::flip_history(h);
    ++n;
    flipped += scorer(p, h) != scorer(p, f.view());
  }
  return {n ? static_cast<double>(flipped) / n : 0.0, n};
}

nlohmann::json evaluate_model(model::TransformerImpl& m, const RmTask& task,
                              const std::vector<size_t>& pairs, const RmEvalOptions& opts,
                              const data::World* world) {
  auto t0 = std::chrono::steady_clock::now();
  const auto& ds = task.dataset();
  std::vector<PairOutcome> outcomes, repaired;
  chain::ErrorCounts counts;
  TruthErrors truth;
  int64_t chains_valid = 0, chains_total = 0;
  json examples = json::array();  // a few chains as written, for a reader of the report
  for (uint64_t seed : opts.seeds) {
    std::vector<RmPrompt> prompts;
    for (size_t i : pairs) prompts.push_back(task.prompt(i, opts.kind, seed));
    model::SampleParams sp = opts.sample;
    sp.seed = seed;
    auto scores = score_with_model(m, task, prompts, opts.chains, sp, opts.batch, &counts);
    for (size_t k = 0; k < pairs.size(); ++k) {
      const data::Pair& p = ds.pairs[pairs[k]];
      outcomes.push_back({static_cast<int64_t>(k), static_cast<int64_t>(seed),
                          verdict_from_scores(scores[k].chosen, scores[k].rejected),
                          pair_groups(ds, p)});
      repaired.push_back({static_cast<int64_t>(k), static_cast<int64_t>(seed),
                          verdict_from_scores(scores[k].chosen_repaired, scores[k].rejected_repaired),
                          pair_groups(ds, p)});
      chains_valid += scores[k].valid;
      chains_total += scores[k].valid + scores[k].invalid;
      if (world)
        for (const auto& r : scores[k].chains) truth.add(*world, p, r, prompts[k].order);
      if (examples.size() < 3 && !scores[k].chains.empty()) {
        const ReadChain& r = scores[k].chains.front();
        // Byte-level BPE can stop mid-character: invalid UTF-8 becomes U+FFFD,
        // or the report could not be written as JSON.
        auto utf8 = [](const std::string& t) {
          return nlohmann::json::parse(
              nlohmann::json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        };
        examples.push_back({{"pair", p.pair_id}, {"error", std::string(chain::error_code_name(r.parsed.error))},
                            {"message", utf8(r.parsed.message)}, {"text", utf8(r.text)}});
      }
    }
  }
  EvalSummary s = summarize(outcomes, report_groups());
  s.wall_s = seconds_since(t0);
  nlohmann::json j = s;
  // The same chains with weight sums repaired (weights read as proportions):
  // what the model's criteria and scores imply when only its weight
  // arithmetic is off. Never the headline number.
  nlohmann::json rep = summarize(repaired, report_groups());
  j["repaired"] = {{"accuracy", rep["accuracy"]}, {"se", rep["se"]}, {"ties", rep["ties"]},
                   {"parse_failures", rep["parse_failures"]}, {"groups", rep["groups"]}};
  j["chains_per_pair"] = opts.chains;
  j["chain_parse_rate"] = chains_total ? static_cast<double>(chains_valid) / chains_total : 0.0;
  j["parse_errors"] = counts.to_metrics("");
  j["examples"] = examples;
  if (world && opts.diagnostics) {
    j["weight_error_pp"] = truth.weight_n ? truth.weight_sum / truth.weight_n : std::nan("");
    j["score_error"] = truth.score_n ? truth.score_sum / truth.score_n : std::nan("");
    // Greedy verdicts under the real and the flipped history, batched.
    model::SampleParams greedy = opts.sample;
    greedy.temperature = 0;
    const uint64_t seed = opts.seeds.front();
    std::vector<RmPrompt> real, flipped;
    for (size_t i : pairs) {
      if (!ds.pairs[i].hard_negative) continue;
      const data::History h = task.history(i, seed);
      if (h.empty()) continue;
      const data::FlippedHistory f = data::flip_history(h);
      const data::History fv = f.view();
      real.push_back(task.prompt(i, opts.kind, seed, &h));
      flipped.push_back(task.prompt(i, opts.kind, seed, &fv));
    }
    auto a = score_with_model(m, task, real, 1, greedy, opts.batch);
    auto b = score_with_model(m, task, flipped, 1, greedy, opts.batch);
    int64_t changed = 0, changed_repaired = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      changed += verdict_from_scores(a[k].chosen, a[k].rejected) !=
                 verdict_from_scores(b[k].chosen, b[k].rejected);
      changed_repaired += verdict_from_scores(a[k].chosen_repaired, a[k].rejected_repaired) !=
                          verdict_from_scores(b[k].chosen_repaired, b[k].rejected_repaired);
    }
    const int64_t n = static_cast<int64_t>(a.size());
    const double share = n ? static_cast<double>(changed) / n : 0.0;
    j["repaired"]["history_sensitivity"] = n ? static_cast<double>(changed_repaired) / n : 0.0;
    j["history_sensitivity"] = share;
    j["history_sensitivity_pairs"] = n;
  }
  return j;
}

nlohmann::json evaluate_scorer(const data::PairScorer& scorer, const RmTask& task,
                               const std::vector<size_t>& pairs, const std::vector<uint64_t>& seeds) {
  auto t0 = std::chrono::steady_clock::now();
  const auto& ds = task.dataset();
  std::vector<PairOutcome> outcomes;
  for (uint64_t seed : seeds) {
    for (size_t k = 0; k < pairs.size(); ++k) {
      const data::Pair& p = ds.pairs[pairs[k]];
      const std::vector<double> s = scorer.score(p, ds.user_of(p), task.history(pairs[k], seed));
      outcomes.push_back({static_cast<int64_t>(k), static_cast<int64_t>(seed),
                          verdict_from_scores(s[0], s[1]), pair_groups(ds, p)});
    }
  }
  EvalSummary s = summarize(outcomes, report_groups());
  s.wall_s = seconds_since(t0);
  nlohmann::json j = s;
  auto [share, n] = history_sensitivity(task, pairs, seeds.front(),
                                        [&](const data::Pair& p, const data::History& h) {
                                          const std::vector<double> s = scorer.score(p, ds.user_of(p), h);
                                          return verdict_from_scores(s[0], s[1]);
                                        });
  j["history_sensitivity"] = share;
  j["history_sensitivity_pairs"] = n;
  return j;
}

}  // namespace pgenrm::trainer
