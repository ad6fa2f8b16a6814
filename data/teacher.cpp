// The teacher's chains and rejection sampling (see teacher.h).
#include "data/teacher.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "chain/parse.h"
#include "chain/render.h"
#include "chain/shuffle.h"
#include "core/error.h"
#include "data/lexicon.h"
#include "data/rng.h"

namespace pgenrm::data {

namespace {

// Noise per unit of temperature: log-sd on the weights, sd on the 1..10
// scores. At the default 0.5 the first chain is about as accurate as the
// noiseless one (2 points under the ceiling, from keeping 3–4 criteria and
// rounding); at 1.0 it is 5 points under (docs/PERSONAWORLD.md).
constexpr double kWeightNoise = 0.4;
constexpr double kScoreNoise = 0.5;
// A criterion past the third is listed only if it carries this much weight.
constexpr double kFourthCriterionMin = 0.12;

std::string_view adjective(int c) { return criteria_lexicon()[c].adjective; }

std::vector<int> order_by_weight(const std::vector<double>& w) {
  std::vector<int> idx(w.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return w[a] > w[b]; });
  return idx;
}

// Integer percentages, multiples of `step` and ≥ step, summing to 100
// (largest remainder over units of `step`).
std::vector<int> percentages(const std::vector<double>& v, int step) {
  const int units = 100 / step;
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  std::vector<int> out(v.size());
  std::vector<std::pair<double, size_t>> rem;
  int given = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double exact = units * v[i] / sum;
    out[i] = std::max(1, static_cast<int>(std::floor(exact)));
    given += out[i];
    rem.push_back({exact - std::floor(exact), i});
  }
  std::stable_sort(rem.begin(), rem.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < units; ++i, ++given) ++out[rem[i % rem.size()].second];
  for (size_t i = 0; given > units; i = (i + 1) % out.size())  // only after the ≥ 1 floor
    if (out[i] > 1 && out[i] == *std::max_element(out.begin(), out.end())) --out[i], --given;
  for (int& x : out) x *= step;
  return out;
}

}  // namespace

std::vector<int> response_order(uint64_t seed, const std::string& pair_id) {
  const chain::Shuffle shuffle(2, derive_seed(seed, "response_order", pair_id));
  return {static_cast<int>(shuffle.original_at(0)), static_cast<int>(shuffle.original_at(1))};
}

uint64_t teacher_stream(uint64_t seed, const std::string& pair_id, int64_t draw) {
  return derive_seed(seed, "teacher", pair_id + "#" + std::to_string(draw));
}

Teacher::Teacher(const World& world, const Posterior& posterior, TeacherOptions options)
    : world_(&world), posterior_(&posterior), options_(options) {
  PGENRM_CHECK(options.max_criteria >= 3, "the teacher needs at least 3 criteria per chain",
               "set data.teacher_max_criteria >= 3");
  PGENRM_CHECK(options.max_draws >= 1, "the teacher needs at least one draw per pair",
               "set data.teacher_max_draws >= 1");
  PGENRM_CHECK(options.criterion_order == "importance" || options.criterion_order == "fixed",
               "teacher criterion order '" + options.criterion_order + "' is not known",
               "use importance or fixed (data.teacher_criterion_order)");
  PGENRM_CHECK(options.weight_step >= 1 && 100 % options.weight_step == 0 &&
                   options.max_criteria * options.weight_step <= 100,
               "data.teacher_weight_step must divide 100 and leave every criterion at least one step",
               "use 1, 5, 10, 20 or 25 (with at most 100/step criteria)");
}

// Part 1 is kept terse: a tiny model pays for every token it writes, and
// what matters to the verdict is in Part 2. Each line still says what the
// prompt supports: the user's leaning, what they stated, what their history
// shows.
std::string Teacher::persona_text(const User& user, const std::vector<double>& user_w,
                                  const std::vector<double>& history_delta,
                                  bool has_history) const {
  const auto top = order_by_weight(user_w);
  std::string s = std::string(adjective(top[0])) + ", " + std::string(adjective(top[1])) + "; stated";
  std::vector<int> stated;
  for (const auto& c : user.stated)
    if (int i = world_->criterion_index(c.name); i >= 0) stated.push_back(i);
  if (stated.empty()) s += " none";
  for (size_t i = 0; i < stated.size(); ++i) s += (i ? ", " : " ") + std::string(adjective(stated[i]));
  if (!has_history) return s + "; history none.";
  const int fav = order_by_weight(history_delta)[0];
  return s + "; history favours " + std::string(adjective(fav)) + ".";
}

// The 3 heaviest criteria, plus a 4th when it carries real weight.
std::vector<int> Teacher::pick_criteria(const std::vector<double>& weights) const {
  std::vector<int> picked;
  for (int c : order_by_weight(weights)) {
    const auto n = static_cast<int64_t>(picked.size());
    if (n < 3 || (n < options_.max_criteria && weights[c] >= kFourthCriterionMin))
      picked.push_back(c);
  }
  return picked;
}

std::string Teacher::derivation_text(const std::vector<int>& picked) const {
  std::string why = world_->criteria[picked[0]] + " first";
  for (size_t k = 1; k < picked.size(); ++k)
    why += (k == 1 ? ", then " : ", ") + world_->criteria[picked[k]];
  return why + ".";
}

TeacherDraw Teacher::draw(const Pair& pair, const User& user, const History& history,
                          const std::vector<int>& order, uint64_t stream) const {
  const World& w = *world_;
  Rng rng(stream);
  const double t = options_.temperature;
  const Evidence ev = gather_evidence(w, user, history, AttributeSource::kPerceived);
  const auto mass = posterior_->mass(ev);
  const int s = w.scenario_index(pair.scenario);

  // Weights: the posterior mean for this scenario, log-normal noise.
  TeacherDraw d;
  d.order = order;
  d.weights = posterior_->mean_scenario_weights(mass, s);
  for (double& x : d.weights) x *= std::exp(kWeightNoise * t * rng.normal());
  const double sum = std::accumulate(d.weights.begin(), d.weights.end(), 0.0);
  for (double& x : d.weights) x /= sum;
  // Part 1 names the picked criteria by importance. Part 2 lists them in the
  // same order (each weight then has a typical size by position — the
  // heaviest first — and the list is a copy of Part 1's), or in the world's
  // fixed order (the weights alone carry the importance).
  const std::vector<int> by_weight = pick_criteria(d.weights);
  std::vector<int> picked = by_weight;
  if (options_.criterion_order == "fixed") std::sort(picked.begin(), picked.end());
  std::vector<double> picked_w;
  for (int c : picked) picked_w.push_back(d.weights[c]);
  const auto pct = percentages(picked_w, static_cast<int>(options_.weight_step));
  for (size_t k = 0; k < picked.size(); ++k)
    d.chain.criteria.push_back({w.criteria[picked[k]], pct[k]});

  // Scores: the levels the words reveal, plus noise; totals recomputed.
  d.totals.assign(2, 0.0);
  for (int r : order) {
    const auto a = perceive_attributes(w, pair.response(r));
    std::vector<int> row;
    int64_t total = 0;
    for (size_t k = 0; k < picked.size(); ++k) {
      const double noisy = a[picked[k]] + kScoreNoise * t * rng.normal();
      row.push_back(static_cast<int>(std::clamp(std::round(noisy), 1.0, 10.0)));
      total += pct[k] * row.back();
    }
    d.chain.scores.push_back(row);
    d.totals[r] = static_cast<double>(total) / 100.0;  // as chain::recompute_totals
  }

  std::vector<double> hist_delta(w.num_criteria(), 0.0);
  for (const auto& ch : ev.choices)
    for (int c = 0; c < w.num_criteria(); ++c) hist_delta[c] += ch.delta[c];
  d.chain.persona =
      persona_text(user, posterior_->mean_user_weights(mass), hist_delta, !history.empty());
  d.chain.scenario = std::string(scenario_lexicon()[s].name) + ": wants " +
                     std::string(adjective(by_weight[0])) + ", " + std::string(adjective(by_weight[1])) + ".";
  d.chain.derivation = derivation_text(by_weight);
  return d;
}

TeacherRun run_teacher(const World& world, const Dataset& ds, const Teacher& teacher,
                       const HistoryOptions& hopts, uint64_t seed, Split split) {
  TeacherRun run;
  for (size_t i : ds.split_pairs(split)) {
    const Pair& p = ds.pairs[i];
    const User& u = ds.user_of(p);
    const History h = sample_history(ds, p, hopts, seed);
    TeacherRecord rec;
    rec.pair_id = p.pair_id;
    rec.user_id = p.user_id;
    for (const Pair* x : h) rec.history.push_back(x->pair_id);
    rec.order = response_order(seed, p.pair_id);
    ++run.stats.pairs;
    for (int64_t k = 0; k < teacher.options().max_draws; ++k) {
      const TeacherDraw d = teacher.draw(p, u, h, rec.order, teacher_stream(seed, p.pair_id, k));
      ++run.stats.draws;
      if (k == 0) {
        run.stats.first_correct += d.prefers_chosen();
        run.stats.first_ties += d.totals[0] == d.totals[1];
      }
      if (d.prefers_chosen()) {
        rec.draws = k + 1;
        rec.chain = chain::render(d.chain);
        ++run.stats.kept;
        // The trainer learns exactly this text: it must parse back.
        run.stats.kept_parse_ok += chain::parse(rec.chain, 2).ok();
        run.records.push_back(std::move(rec));
        break;
      }
    }
  }
  return run;
}

std::string teacher_prompt(const Dataset& ds, const TeacherRecord& r, PromptKind kind) {
  const Pair& p = ds.pairs[ds.pair_index(r.pair_id)];
  History h;
  for (const std::string& id : r.history) h.push_back(&ds.pairs[ds.pair_index(id)]);
  return render_prompt(kind, ds.user_of(p), h, p, r.order);
}

namespace {

class TeacherScorer : public PairScorer {
 public:
  TeacherScorer(const Teacher& t, uint64_t seed) : teacher_(&t), seed_(seed) {}
  std::string name() const override { return "teacher"; }
  std::vector<double> score(const Pair& p, const User& u, const History& h) const override {
    return teacher_
        ->draw(p, u, h, response_order(seed_, p.pair_id), teacher_stream(seed_, p.pair_id, 0))
        .totals;
  }

 private:
  const Teacher* teacher_;
  uint64_t seed_;
};

}  // namespace

std::unique_ptr<PairScorer> make_teacher_scorer(const Teacher& teacher, uint64_t seed) {
  return std::make_unique<TeacherScorer>(teacher, seed);
}

}  // namespace pgenrm::data
