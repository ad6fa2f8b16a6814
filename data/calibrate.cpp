// World calibration: run every reference scorer over every pair (see
// calibrate.h).
#include "data/calibrate.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/scorers.h"

namespace pgenrm::data {

namespace {

constexpr const char* kCeiling = "posterior_perceived";
constexpr const char* kNonPers = "non_personalised";

std::string fmt(const char* f, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

}  // namespace

void Accuracy::add(bool ok, bool tie) {
  ++n;
  correct += ok;
  ties += tie;
}

double Accuracy::se() const {
  const double a = value();
  return n ? std::sqrt(a * (1 - a) / double(n)) : 0.0;
}

double MeanSe::se() const {
  if (n < 2) return 0.0;
  const double m = mean(), var = (sum_sq - double(n) * m * m) / double(n - 1);
  return std::sqrt(std::max(0.0, var) / double(n));
}

const CalibrationCell& Calibration::cell(Split s, Group g) const {
  for (const auto& c : cells)
    if (c.split == s && c.group == g) return c;
  throw Error("no calibration cell for " + std::string(split_name(s)) + "/" +
              std::string(group_name(g)));
}

Calibration calibrate(const World& world, const Dataset& ds, const Posterior& posterior,
                      const Teacher& teacher, const HistoryOptions& hopts, uint64_t seed) {
  std::vector<std::unique_ptr<PairScorer>> scorers;
  scorers.push_back(make_oracle_scorer());
  scorers.push_back(make_posterior_scorer(world, posterior, AttributeSource::kPerceived));
  scorers.push_back(make_posterior_scorer(world, posterior, AttributeSource::kTrue));
  scorers.push_back(make_posterior_scorer(world, posterior, AttributeSource::kPerceived, false));
  scorers.push_back(make_non_personalised_scorer(world));
  scorers.push_back(make_teacher_scorer(teacher, seed));
  scorers.push_back(make_random_scorer(seed));

  Calibration cal;
  cal.history = hopts.h;
  for (const auto& s : scorers) cal.scorers.push_back(s->name());
  for (Split s : kSplits)
    for (Group g : kGroups) {
      CalibrationCell cell;
      cell.split = s;
      cell.group = g;
      cal.cells.push_back(std::move(cell));
    }

  for (const Pair& p : ds.pairs) {
    PGENRM_CHECK(p.truth.has_value(), "pair '" + p.pair_id + "' has no ground truth",
                 "calibration needs a PersonaWorld directory (pairs.jsonl with truth)");
    const User& u = ds.user_of(p);
    const History h = sample_history(ds, p, hopts, seed);
    std::map<std::string, bool> ok;
    std::map<std::string, bool> tie;
    for (const auto& sc : scorers) {
      bool t = false;
      ok[sc->name()] = prefers_chosen(sc->score(p, u, h), &t);
      tie[sc->name()] = t;
    }
    std::map<std::string, bool> flips;
    const bool probe_flip = p.split != Split::kTrain && !h.empty();
    if (probe_flip) {
      const FlippedHistory f = flip_history(h);
      for (const auto& sc : scorers)
        flips[sc->name()] = prefers_chosen(sc->score(p, u, f.view())) != ok[sc->name()];
    }
    const double bayes = std::max(p.truth->p_chosen, 1.0 - p.truth->p_chosen);
    for (auto& cell : cal.cells) {
      if (cell.split != p.split || !in_group(u, cell.group)) continue;
      cell.bayes.add(bayes);
      for (const auto& name : cal.scorers) {
        cell.all[name].add(ok[name], tie[name]);
        if (p.hard_negative) cell.hard[name].add(ok[name], tie[name]);
      }
      cell.gap.add(double(ok[kCeiling]) - double(ok[kNonPers]));
      for (const auto& [name, flipped] : flips) cell.history_flip[name].add(flipped);
    }
  }
  cal.teacher = run_teacher(world, ds, teacher, hopts, seed, Split::kTrain).stats;
  return cal;
}

std::string calibration_markdown(const Calibration& c) {
  std::string s =
      "| split | group | pairs | Bayes | oracle | ceiling (perceived) | ceiling (true attrs) | "
      "ceiling, history only | non-personalised | gap ceiling − non-pers | teacher | random | "
      "hard share | hard: ceiling / non-pers / teacher / oracle | history flip: ceiling / teacher "
      "|\n"
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | "
      "--- | --- |\n";
  for (const auto& cell : c.cells) {
    if (cell.n() == 0) continue;
    const auto acc = [&](const char* name) {
      const Accuracy& a = cell.all.at(name);
      return fmt("%.3f ± %.3f", a.value(), a.se());
    };
    const auto hard = [&](const char* name) {
      auto it = cell.hard.find(name);
      return it == cell.hard.end() ? std::string("-") : fmt("%.3f", it->second.value());
    };
    const auto flip = [&](const char* name) {
      auto it = cell.history_flip.find(name);
      return it == cell.history_flip.end() ? std::string("-") : fmt("%.3f", it->second.mean());
    };
    const int64_t n_hard = cell.hard.count(kNonPers) ? cell.hard.at(kNonPers).n : 0;
    s += "| " + std::string(split_name(cell.split)) + " | " + std::string(group_name(cell.group)) +
         " | " + std::to_string(cell.n()) + " | " + fmt("%.3f", cell.bayes.mean()) + " | " +
         acc("oracle") + " | " + acc(kCeiling) + " | " + acc("posterior_true") + " | " +
         acc("posterior_history_only_perceived") + " | " + acc(kNonPers) + " | " +
         fmt("%+.3f ± %.3f", cell.gap.mean(), cell.gap.se()) + " | " + acc("teacher") + " | " +
         acc("random") + " | " + fmt("%.3f", double(n_hard) / double(cell.n())) + " | " +
         hard(kCeiling) + " / " + hard(kNonPers) + " / " + hard("teacher") + " / " +
         hard("oracle") + " | " + flip(kCeiling) + " / " + flip("teacher") + " |\n";
  }
  const TeacherStats& t = c.teacher;
  s += "\nTeacher on the train split (" + std::to_string(t.pairs) +
       " pairs): accuracy before filtering " + fmt("%.3f", t.accuracy_before()) +
       " (first chain; " + std::to_string(t.first_ties) +
       " ties), after filtering 1.000 by construction on the " + fmt("%.1f%%", 100 * t.coverage()) +
       " of pairs that kept a chain; " +
       fmt("%.2f", t.pairs ? double(t.draws) / double(t.pairs) : 0.0) + " chains drawn per pair; " +
       std::to_string(t.kept_parse_ok) + " of " + std::to_string(t.kept) +
       " kept chains parse (chain::parse).\n";
  return s;
}

std::string calibration_json(const Calibration& c) {
  nlohmann::ordered_json j;
  j["history"] = c.history;
  j["scorers"] = c.scorers;
  nlohmann::ordered_json cells = nlohmann::ordered_json::array();
  for (const auto& cell : c.cells) {
    if (cell.n() == 0) continue;
    nlohmann::ordered_json e;
    e["split"] = split_name(cell.split);
    e["group"] = group_name(cell.group);
    e["n"] = cell.n();
    e["bayes"] = cell.bayes.mean();
    for (const char* part : {"all", "hard"}) {
      const auto& m = std::string(part) == "all" ? cell.all : cell.hard;
      nlohmann::ordered_json accs = nlohmann::ordered_json::object();
      for (const auto& name : c.scorers) {
        auto it = m.find(name);
        if (it == m.end()) continue;
        accs[name] = {{"accuracy", it->second.value()},
                      {"se", it->second.se()},
                      {"n", it->second.n},
                      {"ties", it->second.ties}};
      }
      e[part] = accs;
    }
    e["gap_ceiling_minus_non_personalised"] = {{"mean", cell.gap.mean()}, {"se", cell.gap.se()}};
    nlohmann::ordered_json flip = nlohmann::ordered_json::object();
    for (const auto& name : c.scorers)
      if (auto it = cell.history_flip.find(name); it != cell.history_flip.end())
        flip[name] = {{"rate", it->second.mean()}, {"se", it->second.se()}, {"n", it->second.n}};
    e["history_flip"] = flip;
    cells.push_back(e);
  }
  j["cells"] = cells;
  j["teacher_train"] = {{"pairs", c.teacher.pairs},
                        {"accuracy_before_filtering", c.teacher.accuracy_before()},
                        {"first_ties", c.teacher.first_ties},
                        {"kept", c.teacher.kept},
                        {"coverage", c.teacher.coverage()},
                        {"draws", c.teacher.draws},
                        {"kept_parse_ok", c.teacher.kept_parse_ok},
                        {"accuracy_after_filtering", c.teacher.kept ? 1.0 : 0.0}};
  return j.dump(2) + "\n";
}

}  // namespace pgenrm::data
