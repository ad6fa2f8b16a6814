#include "scaling/report.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/log.h"
#include "scaling/build.h"
#include "trainer/eval_summary.h"
#include "trainer/rm_eval.h"

namespace pgenrm::scaling {

using nlohmann::json;

const std::vector<std::pair<int64_t, int64_t>>& paper_rows() {
  static const std::vector<std::pair<int64_t, int64_t>> r = {{1, 0},  {8, 0},  {4, 4},  {16, 0}, {8, 4},
                                                             {8, 8},  {32, 0}, {16, 8}, {0, 8},  {16, 16}};
  return r;
}

std::string row_name(int64_t ind, int64_t pro) {
  if (ind == 1 && pro == 0) return "none";
  std::string s = "Ind-" + std::to_string(ind);
  if (pro > 0) s += "/Pro-" + std::to_string(pro);
  return s;
}

json evaluate_scaled(const ScaledScorer& scorer, const std::vector<size_t>& pairs,
                     const std::vector<uint64_t>& seeds) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto& opts = scorer.options();
  const auto& ds = scorer.task().dataset();
  std::vector<trainer::PairOutcome> strict, repaired;
  ScaledTiming timing;
  int64_t ind_valid = 0, ind_total = 0, pro_valid = 0, pro_total = 0;
  std::vector<std::string> users;
  std::vector<std::vector<std::string>> neighbours;
  json examples = json::array();
  for (uint64_t seed : seeds) {
    auto scores = scorer.score(pairs, seed, &timing);
    for (size_t k = 0; k < pairs.size(); ++k) {
      const data::Pair& p = ds.pairs[pairs[k]];
      const ScaledScore& s = scores[k];
      const auto groups = trainer::pair_groups(ds, p);
      strict.push_back({static_cast<int64_t>(k), static_cast<int64_t>(seed),
                        trainer::verdict_from_scores(s.chosen, s.rejected), groups});
      repaired.push_back({static_cast<int64_t>(k), static_cast<int64_t>(seed),
                          trainer::verdict_from_scores(s.chosen_repaired, s.rejected_repaired), groups});
      ind_valid += s.ind.valid;
      ind_total += s.ind.valid + s.ind.invalid;
      pro_valid += s.pro.valid;
      pro_total += s.pro.valid + s.pro.invalid;
      if (opts.pro > 0) {
        users.push_back(p.user_id);
        neighbours.push_back(s.neighbours);
        if (examples.size() < 3)
          examples.push_back({{"pair", p.pair_id}, {"analysis", s.analysis}, {"prototype", s.prototype},
                              {"neighbours", s.neighbours}});
      }
    }
  }
  json j = trainer::summarize(strict, trainer::report_groups());
  json rep = trainer::summarize(repaired, trainer::report_groups());
  j["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  j["repaired"] = {{"accuracy", rep["accuracy"]}, {"se", rep["se"]}, {"ties", rep["ties"]},
                   {"parse_failures", rep["parse_failures"]}, {"groups", rep["groups"]}};
  j["row"] = row_name(opts.ind, opts.pro);
  j["ind"] = opts.ind;
  j["pro"] = opts.pro;
  j["c_self"] = opts.c_self;
  j["c_pro"] = opts.c_pro;
  j["temperature"] = (opts.ind == 1 && opts.pro == 0) ? 0.0 : opts.sample.temperature;
  j["ind_chain_valid_rate"] = ind_total ? static_cast<double>(ind_valid) / ind_total : std::nan("");
  j["pro_chain_valid_rate"] = pro_total ? static_cast<double>(pro_valid) / pro_total : std::nan("");
  // Without Pro-n ind_chains is all the generation; with it the chains
  // share decode steps: the *_prefill entries are prefills, decode_steps
  // the shared decoding (scaling/scorer.h, ScaledTiming).
  if (opts.pro == 0) {
    j["time_s"] = {{"ind_chains", timing.ind_s}};
  } else {
    j["time_s"] = {{"own_prefill", timing.ind_s}, {"analysis_prefill", timing.analysis_s},
                   {"embedding", timing.embed_s}, {"retrieval_and_prompts", timing.retrieval_s},
                   {"neighbour_prefill", timing.pro_s}, {"decode_steps", timing.decode_s}};
  }
  if (opts.pro > 0) {
    auto [rate, n] = same_prototype_rate(ds, users, neighbours);
    if (n > 0) {
      j["neighbour_same_true_prototype"] = rate;
      j["neighbour_pairs"] = n;
    }
    j["examples"] = examples;
  }
  return j;
}

json scaling_table(const std::vector<std::pair<int64_t, int64_t>>& rows,
                   const std::function<ScaledScorer(int64_t, int64_t)>& make, const std::vector<size_t>& pairs,
                   const std::vector<uint64_t>& seeds) {
  json out = json::array();
  double base = std::nan("");
  for (auto [ind, pro] : rows) {
    ScaledScorer s = make(ind, pro);
    json r = evaluate_scaled(s, pairs, seeds);
    if (ind == 1 && pro == 0) base = r["wall_s"].get<double>();
    PGENRM_LOG_INFO("scaling table: ", r["row"].get<std::string>(), " accuracy ", r["accuracy"].get<double>(),
                    " (repaired ", r["repaired"]["accuracy"].get<double>(), ") in ", r["wall_s"].get<double>(), " s");
    out.push_back(std::move(r));
  }
  for (auto& r : out) r["relative_wall"] = std::isnan(base) ? std::nan("") : r["wall_s"].get<double>() / base;
  return out;
}

std::string table_markdown(const json& table) {
  auto cell = [](const json& g) {
    char b[64];
    std::snprintf(b, sizeof b, "%.3f ± %.3f", g["accuracy"].get<double>(), g["se"].get<double>());
    return std::string(b);
  };
  auto grp = [&](const json& r, const char* name) {
    const json& s = r["groups"];
    const json& p = r["repaired"]["groups"];
    if (!s.contains(name)) return std::string("–");
    return cell(s[name]) + " / " + cell(p[name]);
  };
  std::ostringstream os;
  os << "| row | strict accuracy | repaired accuracy | cold-start (strict / repaired) | warm | stated criteria "
        "| no criteria | valid own / neighbour chains | neighbours of same true prototype | wall s | × none |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : table) {
    char v[64], w[64], nb[32] = "–";
    auto pct = [](const json& x) { return x.is_number() ? 100.0 * x.get<double>() : std::nan(""); };
    auto share = [&](const json& x) {
      const double p = pct(x);
      if (std::isnan(p)) return std::string("–");
      char b[16];
      std::snprintf(b, sizeof b, "%.0f%%", p);
      return std::string(b);
    };
    std::snprintf(v, sizeof v, "%s / %s", share(r["ind_chain_valid_rate"]).c_str(),
                  share(r["pro_chain_valid_rate"]).c_str());
    std::snprintf(w, sizeof w, "%.1f | %.2f", r["wall_s"].get<double>(), r["relative_wall"].get<double>());
    if (r.contains("neighbour_same_true_prototype"))
      std::snprintf(nb, sizeof nb, "%.2f", r["neighbour_same_true_prototype"].get<double>());
    os << "| " << r["row"].get<std::string>() << " | " << cell(r) << " | " << cell(r["repaired"]) << " | "
       << grp(r, "cold_start") << " | " << grp(r, "warm") << " | " << grp(r, "stated_criteria") << " | "
       << grp(r, "no_criteria") << " | " << v << " | " << nb << " | " << w << " |\n";
  }
  return os.str();
}

}  // namespace pgenrm::scaling
