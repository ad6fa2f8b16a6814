// JSONL / JSON readers and writers of a dataset directory (see io.h).
#include "data/io.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::data {

namespace {

using Json = nlohmann::json;
using OJson = nlohmann::ordered_json;

// A field problem inside one row; the line reader adds file:line.
struct RowError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const Json& field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw RowError(std::string("missing key \"") + key + "\"");
  return *it;
}

std::string str(const Json& j, const char* key) {
  const Json& v = field(j, key);
  if (!v.is_string()) throw RowError(std::string("\"") + key + "\" must be a string");
  return v.get<std::string>();
}

std::string str_or(const Json& j, const char* key, const std::string& dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_string()) throw RowError(std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

std::optional<double> opt_number(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw RowError(std::string("\"") + key + "\" must be a number or null");
  return it->get<double>();
}

std::vector<double> numbers(const Json& j, const char* key) {
  const Json& v = field(j, key);
  if (!v.is_array()) throw RowError(std::string("\"") + key + "\" must be a list of numbers");
  std::vector<double> out;
  for (const Json& x : v) {
    if (!x.is_number()) throw RowError(std::string("\"") + key + "\" must be a list of numbers");
    out.push_back(x.get<double>());
  }
  return out;
}

// A response: {content, role} or a bare string.
std::string response_text(const Json& j, const char* key) {
  const Json& v = field(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) return str(v, "content");
  throw RowError(std::string("\"") + key + "\" must be {content, role} or a string");
}

std::ofstream open_out(const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw Error("cannot write '" + path + "'", "check that the folder exists and is writable");
  return out;
}

void close_out(std::ofstream& out, const std::string& path) {
  out.close();
  if (!out) throw Error("writing '" + path + "' failed", "is the disk full?");
}

// Calls `row` for every non-blank line; any problem becomes "path:line: ...".
void for_each_line(const std::string& path, const std::function<void(const Json&)>& row) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot open '" + path + "'",
                "check the path (generate it with `pgenrm data generate`)");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(n);
    Json j;
    try {
      j = Json::parse(nan_to_null(line));
    } catch (const Json::exception& e) {
      throw Error(where + ": not valid JSON (" + e.what() + ")",
                  "each line must hold one JSON object");
    }
    if (!j.is_object()) throw Error(where + ": a row must be a JSON object", "");
    try {
      row(j);
    } catch (const RowError& e) {
      throw Error(where + ": " + e.what(), "fix or remove this row");
    } catch (const Json::exception& e) {
      throw Error(where + ": " + e.what(), "fix or remove this row");
    }
  }
}

OJson message_json(const std::string& content, const std::string& role) {
  OJson m = OJson::object();
  m["content"] = content;
  m["role"] = role;
  return m;
}

OJson truth_json(const PairTruth& t) {
  OJson j = OJson::object();
  j["prototype"] = t.prototype;
  j["weights"] = t.weights;
  j["attributes_chosen"] = t.attributes_chosen;
  j["attributes_rejected"] = t.attributes_rejected;
  j["utility_chosen"] = t.utility_chosen;
  j["utility_rejected"] = t.utility_rejected;
  j["p_chosen"] = t.p_chosen;
  return j;
}

PairTruth truth_from(const Json& j) {
  PairTruth t;
  t.prototype = field(j, "prototype").get<int>();
  t.weights = numbers(j, "weights");
  t.attributes_chosen = numbers(j, "attributes_chosen");
  t.attributes_rejected = numbers(j, "attributes_rejected");
  t.utility_chosen = field(j, "utility_chosen").get<double>();
  t.utility_rejected = field(j, "utility_rejected").get<double>();
  t.p_chosen = field(j, "p_chosen").get<double>();
  return t;
}

OJson pair_json(const Pair& p) {
  OJson j = OJson::object();
  j["user_id"] = p.user_id;
  j["conversation_id"] = p.pair_id;
  OJson ctx = OJson::array();
  for (const Message& m : p.context) ctx.push_back(message_json(m.content, m.role));
  j["context"] = ctx;
  j["chosen"] = message_json(p.chosen, "assistant");
  j["rejected"] = message_json(p.rejected, "assistant");
  j["chosen_score"] = p.chosen_score ? OJson(*p.chosen_score) : OJson(nullptr);
  j["rejected_score"] = p.rejected_score ? OJson(*p.rejected_score) : OJson(nullptr);
  j["split"] = split_name(p.split);
  if (!p.scenario.empty()) j["scenario"] = p.scenario;
  j["hard_negative"] = p.hard_negative;
  if (p.truth) j["truth"] = truth_json(*p.truth);
  return j;
}

Pair pair_from(const Json& j) {
  Pair p;
  p.user_id = str(j, "user_id");
  p.pair_id = j.contains("pair_id") ? str(j, "pair_id") : str(j, "conversation_id");
  const Json& ctx = field(j, "context");
  if (!ctx.is_array()) throw RowError("\"context\" must be a list of {content, role}");
  for (const Json& m : ctx) {
    if (!m.is_object()) throw RowError("\"context\" must be a list of {content, role}");
    p.context.push_back({str(m, "role"), str(m, "content")});
  }
  p.chosen = response_text(j, "chosen");
  p.rejected = response_text(j, "rejected");
  p.chosen_score = opt_number(j, "chosen_score");
  p.rejected_score = opt_number(j, "rejected_score");
  const std::string split = str(j, "split");
  auto s = parse_split(split);
  if (!s) throw RowError("split \"" + split + "\" is not train, val, validation or test");
  p.split = *s;
  p.scenario = str_or(j, "scenario", "");
  if (auto it = j.find("hard_negative"); it != j.end() && !it->is_null())
    p.hard_negative = it->get<bool>();
  if (auto it = j.find("truth"); it != j.end() && !it->is_null()) p.truth = truth_from(*it);
  return p;
}

// The world's options, one list so writer and reader cannot drift apart.
#define PGENRM_WORLD_FIELDS(X)                                                                     \
  X(seed)                                                                                          \
  X(users) X(criteria) X(scenarios) X(prototypes) X(favourite_weight) X(second_weight)             \
      X(concentration) X(scenario_sigma) X(interaction_sigma) X(quality_sigma) X(profile_sigma)    \
          X(tau) X(stated_share) X(stated_count) X(stated_swap) X(cold_start_share) X(train_pairs) \
              X(val_pairs) X(test_pairs) X(words_per_criterion) X(word_noise)

}  // namespace

// nan_to_null is defined in data/jsonl.cpp (the real-data loaders share it).

void write_pairs_jsonl(const std::string& path, const std::vector<Pair>& pairs) {
  auto out = open_out(path);
  for (const Pair& p : pairs) out << pair_json(p).dump() << '\n';
  close_out(out, path);
}

std::vector<Pair> read_pairs_jsonl(const std::string& path) {
  std::vector<Pair> pairs;
  std::map<std::string, int> seen;
  for_each_line(path, [&](const Json& j) {
    Pair p = pair_from(j);
    // PersonalRewardBench repeats a conversation_id for every pair of a
    // turn: number the repeats so pair ids stay unique.
    if (int n = ++seen[p.pair_id]; n > 1) p.pair_id += "#" + std::to_string(n);
    pairs.push_back(std::move(p));
  });
  return pairs;
}

void write_survey_jsonl(const std::string& path, const std::vector<User>& users) {
  auto out = open_out(path);
  for (const User& u : users) {
    if (!u.has_stated_criteria()) continue;
    OJson j = OJson::object();
    j["user_id"] = u.user_id;
    j["system_string"] = u.system_string;
    OJson prefs = OJson::object(), list = OJson::array();
    for (const auto& s : u.stated) {
      prefs[s.name] = s.weight;
      OJson e = OJson::object();
      e["name"] = s.name;
      e["weight"] = s.weight;
      list.push_back(e);
    }
    j["stated_prefs"] = prefs;
    j["stated_criteria"] = list;
    out << j.dump() << '\n';
  }
  close_out(out, path);
}

std::vector<User> read_survey_jsonl(const std::string& path) {
  std::vector<User> users;
  for_each_line(path, [&](const Json& j) {
    User u;
    u.user_id = str(j, "user_id");
    u.system_string = str_or(j, "system_string", "");
    if (auto it = j.find("stated_criteria"); it != j.end() && it->is_array()) {
      for (const Json& e : *it) u.stated.push_back({str(e, "name"), field(e, "weight").get<int>()});
    } else if (auto p = j.find("stated_prefs"); p != j.end() && p->is_object()) {
      // PRISM: independent 0..100 ratings, some null; most important first.
      for (auto& [k, v] : p->items())
        if (v.is_number()) u.stated.push_back({k, static_cast<int>(std::lround(v.get<double>()))});
      std::stable_sort(u.stated.begin(), u.stated.end(),
                       [](auto& a, auto& b) { return a.weight > b.weight; });
    }
    users.push_back(std::move(u));
  });
  return users;
}

Dataset read_dataset(const std::string& dir) {
  Dataset ds;
  ds.pairs = read_pairs_jsonl(dir + "/pairs.jsonl");
  std::map<std::string, size_t> index;
  for (const Pair& p : ds.pairs)
    if (!index.contains(p.user_id)) {
      index[p.user_id] = ds.users.size();
      User u;
      u.user_id = p.user_id;
      ds.users.push_back(std::move(u));
    }
  const std::string survey = dir + "/survey.jsonl";
  if (std::filesystem::exists(survey))
    for (User& s : read_survey_jsonl(survey)) {
      auto it = index.find(s.user_id);
      if (it == index.end()) {
        index[s.user_id] = ds.users.size();
        ds.users.push_back(std::move(s));
      } else {
        ds.users[it->second].stated = std::move(s.stated);
        ds.users[it->second].system_string = std::move(s.system_string);
      }
    }
  ds.build_index();
  return ds;
}

void write_world_json(const std::string& path, const World& w, const std::vector<User>& users) {
  OJson j = OJson::object();
  OJson opts = OJson::object();
#define PGENRM_WRITE(f) opts[#f] = w.options.f;
  PGENRM_WORLD_FIELDS(PGENRM_WRITE)
#undef PGENRM_WRITE
  j["format"] = "personaworld/1";
  j["options"] = opts;
  j["criteria"] = w.criteria;
  j["scenarios"] = w.scenarios;
  j["favourite"] = w.favourite;
  j["second"] = w.second;
  j["prototype_weights"] = w.prototype_weights;
  j["multipliers"] = w.multipliers;
  j["population_weights"] = w.population_weights;
  OJson us = OJson::array();
  for (const User& u : users) {
    if (!u.truth) continue;
    OJson e = OJson::object();
    e["user_id"] = u.user_id;
    e["prototype"] = u.truth->prototype;
    e["weights"] = u.truth->weights;
    us.push_back(e);
  }
  j["users"] = us;
  auto out = open_out(path);
  out << j.dump(1) << '\n';
  close_out(out, path);
}

World read_world_json(const std::string& path, Dataset* ds) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot open '" + path + "'", "generate the world with `pgenrm data generate`");
  Json j;
  try {
    j = Json::parse(in);
    World w;
    const Json& o = field(j, "options");
#define PGENRM_READ(f) w.options.f = field(o, #f).get<decltype(w.options.f)>();
    PGENRM_WORLD_FIELDS(PGENRM_READ)
#undef PGENRM_READ
    w.criteria = field(j, "criteria").get<std::vector<std::string>>();
    w.scenarios = field(j, "scenarios").get<std::vector<std::string>>();
    w.favourite = field(j, "favourite").get<std::vector<int>>();
    w.second = field(j, "second").get<std::vector<int>>();
    w.prototype_weights = field(j, "prototype_weights").get<std::vector<std::vector<double>>>();
    w.multipliers = field(j, "multipliers").get<std::vector<std::vector<std::vector<double>>>>();
    w.population_weights = field(j, "population_weights").get<std::vector<std::vector<double>>>();
    if (ds) {
      for (const Json& e : field(j, "users")) {
        // A user without pairs is not in the dataset and needs no truth.
        if (auto u = ds->find_user(str(e, "user_id")))
          ds->users[*u].truth = UserTruth{field(e, "prototype").get<int>(), numbers(e, "weights")};
      }
    }
    return w;
  } catch (const RowError& e) {
    throw Error(path + ": " + e.what(), "regenerate the world; the file is not personaworld/1");
  } catch (const Json::exception& e) {
    throw Error(path + ": " + e.what(), "regenerate the world; the file is not personaworld/1");
  }
}

void write_teacher_jsonl(const std::string& path, const std::vector<TeacherRecord>& records) {
  auto out = open_out(path);
  for (const TeacherRecord& r : records) {
    OJson j = OJson::object();
    j["pair_id"] = r.pair_id;
    j["user_id"] = r.user_id;
    j["history"] = r.history;
    j["order"] = r.order;
    j["draws"] = r.draws;
    j["chain"] = r.chain;
    out << j.dump() << '\n';
  }
  close_out(out, path);
}

std::vector<TeacherRecord> read_teacher_jsonl(const std::string& path) {
  std::vector<TeacherRecord> out;
  for_each_line(path, [&](const Json& j) {
    TeacherRecord r;
    r.pair_id = str(j, "pair_id");
    r.user_id = str(j, "user_id");
    r.history = field(j, "history").get<std::vector<std::string>>();
    r.order = field(j, "order").get<std::vector<int>>();
    r.draws = field(j, "draws").get<int64_t>();
    r.chain = str(j, "chain");
    out.push_back(std::move(r));
  });
  return out;
}

}  // namespace pgenrm::data
