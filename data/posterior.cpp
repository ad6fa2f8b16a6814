// Particle posterior over a PersonaWorld user's weights (see posterior.h).
#include "data/posterior.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace pgenrm::data {

namespace {

// Floor on a stated-criterion likelihood the swap model calls impossible
// (another of the top criteria in the wrong slot): keeps one surprising
// statement from zeroing every particle.
constexpr double kImpossible = 1e-3;

double log_sigmoid(double x) {
  return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x));
}

}  // namespace

std::string_view attribute_source_name(AttributeSource s) {
  return s == AttributeSource::kPerceived ? "perceived" : "true";
}

std::vector<double> response_attributes(const World& w, const Pair& p, int r, AttributeSource src) {
  if (src == AttributeSource::kPerceived) return perceive_attributes(w, p.response(r));
  PGENRM_CHECK(p.truth.has_value(), "pair '" + p.pair_id + "' has no ground truth",
               "true attributes exist only for PersonaWorld pairs; use perceived attributes");
  return r == 0 ? p.truth->attributes_chosen : p.truth->attributes_rejected;
}

Evidence gather_evidence(const World& w, const User& user, const History& history,
                         AttributeSource src) {
  Evidence e;
  for (const StatedCriterion& s : user.stated)
    if (int c = w.criterion_index(s.name); c >= 0) e.stated.push_back(c);
  for (const Pair* h : history) {
    const auto a = response_attributes(w, *h, 0, src), b = response_attributes(w, *h, 1, src);
    Evidence::Choice ch;
    ch.scenario = w.scenario_index(h->scenario);
    for (size_t c = 0; c < a.size(); ++c) ch.delta.push_back(a[c] - b[c]);
    e.choices.push_back(std::move(ch));
  }
  return e;
}

Posterior::Posterior(const World& world, int64_t particles_per_prototype) : world_(&world) {
  PGENRM_CHECK(particles_per_prototype > 0,
               "the posterior needs at least one particle per prototype",
               "set data.posterior_particles >= 1");
  const auto& o = world.options;
  Rng rng(derive_seed(static_cast<uint64_t>(o.seed), "posterior_particles"));
  const int k = static_cast<int>(o.stated_count);
  for (int p = 0; p < world.num_prototypes(); ++p)
    for (int64_t i = 0; i < particles_per_prototype; ++i) {
      std::vector<double> alpha = world.prototype_weights[p];
      for (double& a : alpha) a *= o.concentration;
      std::vector<double> w = rng.dirichlet(alpha);
      std::vector<std::vector<double>> per_s;
      for (int s = 0; s < world.num_scenarios(); ++s)
        per_s.push_back(world.scenario_weights(w, p, s));
      std::vector<int> idx(w.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return w[a] > w[b]; });
      idx.resize(static_cast<size_t>(k));
      proto_.push_back(p);
      user_w_.push_back(std::move(w));
      scen_w_.push_back(std::move(per_s));
      top_.push_back(std::move(idx));
    }
}

// Slot by slot, the generator keeps the true top criterion with
// probability 1 − swap, or states one from outside the top.
double Posterior::stated_log_likelihood(size_t i, const std::vector<int>& stated) const {
  const auto& o = world_->options;
  const auto& top = top_[i];
  const double outside =
      std::max<double>(1.0, static_cast<double>(world_->num_criteria() - top.size()));
  double ll = 0.0;
  for (size_t slot = 0; slot < stated.size() && slot < top.size(); ++slot) {
    const bool in_top = std::find(top.begin(), top.end(), stated[slot]) != top.end();
    double p = 0.0;
    if (stated[slot] == top[slot])
      p = 1.0 - o.stated_swap;
    else if (!in_top)
      p = o.stated_swap / outside;
    ll += std::log(std::max(p, kImpossible));
  }
  return ll;
}

std::vector<double> Posterior::mass(const Evidence& e) const {
  const double tau = world_->options.tau;
  std::vector<double> logm(proto_.size(), 0.0);
  for (size_t i = 0; i < proto_.size(); ++i) {
    for (const auto& ch : e.choices)
      logm[i] += log_sigmoid(dot(scen_w_[i][ch.scenario], ch.delta) / tau);
    if (!e.stated.empty()) logm[i] += stated_log_likelihood(i, e.stated);
  }
  const double mx = *std::max_element(logm.begin(), logm.end());
  double sum = 0.0;
  for (double& x : logm) sum += (x = std::exp(x - mx));
  for (double& x : logm) x /= sum;
  return logm;
}

std::vector<double> Posterior::mean_scenario_weights(const std::vector<double>& mass,
                                                     int scenario) const {
  std::vector<double> w(world_->num_criteria(), 0.0);
  for (size_t i = 0; i < mass.size(); ++i)
    for (size_t c = 0; c < w.size(); ++c) w[c] += mass[i] * scen_w_[i][scenario][c];
  return w;
}

std::vector<double> Posterior::mean_user_weights(const std::vector<double>& mass) const {
  std::vector<double> w(world_->num_criteria(), 0.0);
  for (size_t i = 0; i < mass.size(); ++i)
    for (size_t c = 0; c < w.size(); ++c) w[c] += mass[i] * user_w_[i][c];
  return w;
}

std::vector<double> Posterior::prototype_mass(const std::vector<double>& mass) const {
  std::vector<double> m(world_->num_prototypes(), 0.0);
  for (size_t i = 0; i < mass.size(); ++i) m[proto_[i]] += mass[i];
  return m;
}

}  // namespace pgenrm::data
