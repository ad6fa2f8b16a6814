// PersonaWorld generation (model in personaworld.h). Two passes: users
// first (their weights define the population average), then each user's
// pairs from a stream of their own.
#include "data/personaworld.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"
#include "data/lexicon.h"

namespace pgenrm::data {

namespace {

constexpr double kQualityMean = 5.5;  // centre of the 1..10 attribute scale
constexpr double kStatedWeightNoise = 0.2;

double round6(double x) { return std::round(x * 1e6) / 1e6; }

std::vector<double> round6(std::vector<double> v) {
  for (double& x : v) x = round6(x);
  return v;
}

void check_options(const core::WorldOptions& o) {
  const auto need = [](bool ok, const std::string& what, const std::string& hint) {
    if (!ok) throw Error("world options: " + what, hint);
  };
  need(o.criteria >= 2 && o.criteria <= kMaxCriteria, "world.criteria must be 2..8", "");
  need(o.scenarios >= 1 && o.scenarios <= kMaxScenarios, "world.scenarios must be 1..8", "");
  need(o.prototypes >= 1 && o.prototypes <= o.criteria,
       "world.prototypes (" + std::to_string(o.prototypes) + ") exceeds world.criteria (" +
           std::to_string(o.criteria) + ")",
       "each prototype needs its own favourite criterion: lower world.prototypes");
  need(o.favourite_weight + o.second_weight < 1.0,
       "world.favourite_weight + world.second_weight must be below 1",
       "the other criteria share what is left; e.g. 0.55 + 0.15");
  need(o.stated_count <= o.criteria, "world.stated_count exceeds world.criteria", "");
  need(o.users >= 1, "world.users must be positive", "");
}

// Prototype p loves criterion p and, second, criterion p + 2: with the
// default order this pairs brevity+structure, depth+warmth, structure+
// formality, warmth+creativity, formality+brevity, creativity+depth.
void build_prototypes(World* w) {
  const auto& o = w->options;
  const int d = static_cast<int>(o.criteria);
  for (int p = 0; p < o.prototypes; ++p) {
    const int fav = p, sec = (p + 2) % d;
    const double rest = (1.0 - o.favourite_weight - o.second_weight) / (d - 2);
    std::vector<double> base(d, rest);
    base[fav] = o.favourite_weight;
    base[sec] = o.second_weight;
    w->favourite.push_back(fav);
    w->second.push_back(sec);
    w->prototype_weights.push_back(round6(base));
  }
}

// m(p, s)_d = exp(σ_s z_{s,d} + σ_ps z_{p,s,d}): a scenario effect every
// prototype shares, times a prototype-specific one.
void build_multipliers(World* w) {
  const auto& o = w->options;
  Rng rng(derive_seed(static_cast<uint64_t>(o.seed), "scenario_multipliers"));
  std::vector<std::vector<double>> main(o.scenarios, std::vector<double>(o.criteria));
  for (auto& row : main)
    for (double& z : row) z = rng.normal();
  w->multipliers.assign(o.prototypes, {});
  for (int p = 0; p < o.prototypes; ++p)
    for (int s = 0; s < o.scenarios; ++s) {
      std::vector<double> m(o.criteria);
      for (int c = 0; c < o.criteria; ++c)
        m[c] = std::exp(o.scenario_sigma * main[s][c] + o.interaction_sigma * rng.normal());
      w->multipliers[p].push_back(round6(m));
    }
}

World build_structure(const core::WorldOptions& o) {
  check_options(o);
  World w;
  w.options = o;
  for (int c = 0; c < o.criteria; ++c) w.criteria.emplace_back(criteria_lexicon()[c].name);
  for (int s = 0; s < o.scenarios; ++s) w.scenarios.emplace_back(scenario_lexicon()[s].name);
  build_prototypes(&w);
  build_multipliers(&w);
  return w;
}

// Indices of the k largest entries, largest first (ties: lower index first).
std::vector<int> top_k(const std::vector<double>& v, int k) {
  std::vector<int> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return v[a] > v[b]; });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

// Integers summing to `total` in proportion to `v` (largest remainder).
std::vector<int> apportion(const std::vector<double>& v, int total) {
  const double sum = std::accumulate(v.begin(), v.end(), 0.0);
  std::vector<int> out(v.size());
  std::vector<std::pair<double, size_t>> rem;
  int given = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double exact = total * v[i] / sum;
    out[i] = static_cast<int>(std::floor(exact));
    given += out[i];
    rem.push_back({exact - out[i], i});
  }
  std::stable_sort(rem.begin(), rem.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t i = 0; given < total; ++i, ++given) ++out[rem[i % rem.size()].second];
  return out;
}

// A PRISM-like user states their top criteria, each slot swapped with
// probability stated_swap for a criterion outside their true top; weights
// fall with the slot, noisily.
void state_criteria(const World& w, const std::vector<double>& weights, Rng& rng, User* u) {
  const int k = static_cast<int>(w.options.stated_count);
  const std::vector<int> top = top_k(weights, k);
  std::vector<int> stated;
  for (int slot = 0; slot < k; ++slot) {
    int c = top[slot];
    if (rng.bernoulli(w.options.stated_swap)) {
      std::vector<int> pool;
      for (int x = 0; x < w.num_criteria(); ++x)
        if (std::find(top.begin(), top.end(), x) == top.end() &&
            std::find(stated.begin(), stated.end(), x) == stated.end())
          pool.push_back(x);
      if (!pool.empty())
        c = pool[static_cast<size_t>(rng.below(static_cast<int64_t>(pool.size())))];
    }
    stated.push_back(c);
  }
  std::vector<double> raw;
  for (int slot = 0; slot < k; ++slot)
    raw.push_back((k - slot) * std::exp(kStatedWeightNoise * rng.normal()));
  std::sort(raw.begin(), raw.end(), std::greater<>());
  const std::vector<int> pct = apportion(raw, 100);
  std::string text = "I like answers that are ";
  for (int slot = 0; slot < k; ++slot) {
    u->stated.push_back({w.criteria[stated[slot]], pct[slot]});
    if (slot > 0) text += slot + 1 == k ? " and " : ", ";
    text += criteria_lexicon()[stated[slot]].adjective;
  }
  u->system_string = text + ".";
}

std::string user_id(int64_t u) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "user%05lld", static_cast<long long>(u));
  return buf;
}

std::vector<User> draw_users(const World& w) {
  std::vector<User> users;
  const auto& o = w.options;
  for (int64_t i = 0; i < o.users; ++i) {
    Rng rng(derive_seed(static_cast<uint64_t>(o.seed), "user", static_cast<uint64_t>(i)));
    User u;
    u.user_id = user_id(i);
    UserTruth t;
    t.prototype = static_cast<int>(rng.below(o.prototypes));
    std::vector<double> alpha = w.prototype_weights[t.prototype];
    for (double& a : alpha) a *= o.concentration;
    t.weights = round6(rng.dirichlet(alpha));
    if (rng.bernoulli(o.stated_share)) state_criteria(w, t.weights, rng, &u);
    u.cold_start = rng.bernoulli(o.cold_start_share);
    u.truth = t;
    users.push_back(std::move(u));
  }
  return users;
}

std::vector<std::vector<double>> population_weights(const World& w,
                                                    const std::vector<User>& users) {
  std::vector<std::vector<double>> pop(w.num_scenarios(),
                                       std::vector<double>(w.num_criteria(), 0.0));
  for (const User& u : users)
    for (int s = 0; s < w.num_scenarios(); ++s) {
      const auto ws = w.scenario_weights(u.truth->weights, u.truth->prototype, s);
      for (int c = 0; c < w.num_criteria(); ++c)
        pop[s][c] += ws[c] / static_cast<double>(users.size());
    }
  for (auto& row : pop) row = round6(row);
  return pop;
}

// Shared quality q plus a zero-sum profile: raising one criterion lowers
// the others, so users with different favourites disagree.
std::vector<double> draw_attributes(const World& w, Rng& rng) {
  const double q = kQualityMean + w.options.quality_sigma * rng.normal();
  std::vector<double> z(w.num_criteria());
  for (double& x : z) x = rng.normal();
  const double mean = std::accumulate(z.begin(), z.end(), 0.0) / static_cast<double>(z.size());
  std::vector<double> a(z.size());
  for (size_t c = 0; c < z.size(); ++c)
    a[c] = std::clamp(std::round(q + w.options.profile_sigma * (z[c] - mean)), 1.0,
                      static_cast<double>(kLevels));
  return a;
}

Pair draw_pair(const World& w, const User& u, Split split, int index, Rng& rng) {
  const UserTruth& ut = *u.truth;
  Pair p;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-p%02d", u.user_id.c_str(), index);
  p.pair_id = buf;
  p.user_id = u.user_id;
  p.split = split;
  const int s = static_cast<int>(rng.below(w.num_scenarios()));
  p.scenario = w.scenarios[s];
  const auto& queries = scenario_lexicon()[s].queries;
  p.context = {{"user", std::string(queries[static_cast<size_t>(rng.below(kQueriesPerScenario))])}};
  std::vector<double> a[2] = {draw_attributes(w, rng), draw_attributes(w, rng)};
  std::string text[2] = {render_response(w, a[0], rng), render_response(w, a[1], rng)};
  PairTruth t;
  t.prototype = ut.prototype;
  t.weights = round6(w.scenario_weights(ut.weights, ut.prototype, s));
  const double u0 = round6(dot(t.weights, a[0])), u1 = round6(dot(t.weights, a[1]));
  const int c = rng.bernoulli(sigmoid((u0 - u1) / w.options.tau)) ? 0 : 1;
  p.chosen = text[c];
  p.rejected = text[1 - c];
  t.attributes_chosen = a[c];
  t.attributes_rejected = a[1 - c];
  t.utility_chosen = c == 0 ? u0 : u1;
  t.utility_rejected = c == 0 ? u1 : u0;
  t.p_chosen = round6(sigmoid((t.utility_chosen - t.utility_rejected) / w.options.tau));
  std::vector<double> delta(a[0].size());
  for (size_t k = 0; k < delta.size(); ++k) delta[k] = a[c][k] - a[1 - c][k];
  p.hard_negative = dot(w.population_weights[s], delta) <= 0.0;
  p.truth = std::move(t);
  return p;
}

void draw_pairs(const World& w, const User& u, size_t user_index, std::vector<Pair>* out) {
  const auto& o = w.options;
  Rng rng(derive_seed(static_cast<uint64_t>(o.seed), "pairs", static_cast<uint64_t>(user_index)));
  // A cold-start user has 0 or 1 train pairs and no val pairs.
  const int64_t n_train = u.cold_start ? rng.below(2) : o.train_pairs;
  const int64_t n_val = u.cold_start ? 0 : o.val_pairs;
  int index = 0;
  for (auto [split, n] : {std::pair{Split::kTrain, n_train}, std::pair{Split::kVal, n_val},
                          std::pair{Split::kTest, o.test_pairs}})
    for (int64_t i = 0; i < n; ++i) out->push_back(draw_pair(w, u, split, index++, rng));
}

}  // namespace

double sigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  PGENRM_CHECK(a.size() == b.size(), "dot of vectors of different lengths", "");
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

int World::criterion_index(const std::string& name) const {
  for (int c = 0; c < num_criteria(); ++c)
    if (criteria[c] == name) return c;
  return -1;
}

int World::scenario_index(const std::string& name) const {
  for (int s = 0; s < num_scenarios(); ++s)
    if (scenarios[s] == name) return s;
  throw Error("unknown PersonaWorld scenario '" + name + "'",
              "is the pair from this world (world.json of the same directory)?");
}

std::vector<double> World::scenario_weights(const std::vector<double>& w_user, int prototype,
                                            int scenario) const {
  const auto& m = multipliers.at(static_cast<size_t>(prototype)).at(static_cast<size_t>(scenario));
  std::vector<double> w(w_user.size());
  double sum = 0.0;
  for (size_t c = 0; c < w.size(); ++c) sum += (w[c] = w_user[c] * m[c]);
  for (double& x : w) x /= sum;
  return w;
}

std::string render_response(const World& w, const std::vector<double>& a, Rng& rng) {
  std::string s;
  for (int c = 0; c < w.num_criteria(); ++c) {
    if (c) s += ", ";
    const int level = static_cast<int>(a[c]);
    for (int k = 0; k < w.options.words_per_criterion; ++k) {
      int l = level;
      if (rng.bernoulli(w.options.word_noise)) {
        const int step = rng.bernoulli(0.5) ? 1 : -1;
        l = (l + step >= 1 && l + step <= kLevels) ? l + step : l - step;
      }
      if (k) s += ' ';
      s += criteria_lexicon()[c].levels[l - 1];
    }
  }
  return s + ".";
}

std::vector<double> perceive_attributes(const World& w, const std::string& text) {
  std::vector<double> sum(w.num_criteria(), 0.0), n(w.num_criteria(), 0.0);
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) {
      if (auto hit = level_of_word(std::string_view(text).substr(i, j - i));
          hit && hit->first < w.num_criteria()) {
        sum[hit->first] += hit->second;
        n[hit->first] += 1;
      }
      i = j;
    } else {
      ++i;
    }
  }
  for (int c = 0; c < w.num_criteria(); ++c) sum[c] = n[c] > 0 ? sum[c] / n[c] : 5.5;
  return sum;
}

GeneratedWorld generate_world(const core::WorldOptions& options) {
  GeneratedWorld g;
  g.world = build_structure(options);
  g.dataset.users = draw_users(g.world);
  g.world.population_weights = population_weights(g.world, g.dataset.users);
  for (size_t u = 0; u < g.dataset.users.size(); ++u)
    draw_pairs(g.world, g.dataset.users[u], u, &g.dataset.pairs);
  g.dataset.build_index();
  return g;
}

}  // namespace pgenrm::data
