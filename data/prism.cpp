// PRISM raw → Dataset (see prism.h). Rows are validated whole before any of
// them is kept, so a bad row leaves nothing behind but its report entry.
#include "data/prism.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/jsonl.h"

namespace pgenrm::data {

namespace {

using jsonl::Json;
using jsonl::RowError;

constexpr const char* kEmptyString = "EMPTY STRING";

std::string prism_text(const Json& j, const char* key) {
  std::string s = jsonl::need_string(j, key);
  return s == kEmptyString ? std::string() : s;
}

struct Response {
  std::string wid;  // within_turn_id, as written
  std::string text, model;
  std::optional<double> score;
  bool chosen = false;
};

struct Turn {
  bool has_user = false;
  std::string user_text;
  std::vector<Response> responses;
};

struct Conversation {
  std::string id, user, type;
  std::map<int64_t, Turn> turns;
  std::map<std::string, double> attributes;
};

// within_turn_id order: numerically when both are numbers, else as text.
bool wid_less(const std::string& a, const std::string& b) {
  auto num = [](const std::string& s, long long* v) {
    if (s.empty() || s.size() > 17) return false;
    size_t used = 0;
    try {
      *v = std::stoll(s, &used);
    } catch (const std::exception&) {
      return false;
    }
    return used == s.size();
  };
  long long x = 0, y = 0;
  if (num(a, &x) && num(b, &y)) return x < y;
  return a < b;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::optional<double> prism_score(const Json& j, const char* key) {
  auto s = jsonl::opt_number(j, key);
  if (s && !(*s >= 1 && *s <= 100))
    throw RowError(kBadValue, std::string("\"") + key + "\" must be 1..100 or null, not " + number_text(*s));
  return s;
}

void add_response(Turn& t, Response r) {
  for (const Response& o : t.responses)
    if (o.wid == r.wid)
      throw RowError(kDuplicateId, "duplicate within_turn_id \"" + r.wid + "\" in one turn");
  t.responses.push_back(std::move(r));
}

// One conversation_history item into `c`.
void add_history_item(Conversation& c, const Json& item, std::map<std::string, int64_t>& notes) {
  if (!item.is_object()) throw RowError(kWrongType, std::string("must be an object, not ") + item.type_name());
  const int64_t turn = jsonl::need_int(item, "turn");
  if (turn < 0) throw RowError(kBadValue, "\"turn\" must be >= 0");
  const std::string role = jsonl::need_string(item, "role");
  Turn& t = c.turns[turn];
  if (role == "user") {
    if (t.has_user) {
      ++notes["turns_with_several_user_messages (first kept)"];
      return;
    }
    t.has_user = true;
    t.user_text = prism_text(item, "content");
  } else if (role == "model" || role == "assistant") {
    Response r;
    r.wid = jsonl::as_id(jsonl::need(item, "within_turn_id"), "within_turn_id");
    r.text = prism_text(item, "content");
    r.model = jsonl::opt_string(item, "model_name");
    r.score = prism_score(item, "score");
    r.chosen = jsonl::opt_bool(item, "if_chosen", false);
    add_response(t, std::move(r));
  } else {
    throw RowError(kBadValue, "\"role\" must be user or model, not \"" + role + "\"");
  }
}

std::map<std::string, double> attributes_of(const Json& j) {
  std::map<std::string, double> out;
  const Json* a = jsonl::find(j, "choice_attributes");
  if (!a) return out;
  if (!a->is_object()) throw RowError(kWrongType, jsonl::type_message("choice_attributes", "an object", *a));
  for (auto it = a->begin(); it != a->end(); ++it) {
    if (it->is_null()) continue;
    if (!it->is_number())
      throw RowError(kWrongType, "choice_attributes." + it.key() + " must be a number or null, not " +
                                     it->type_name());
    out[it.key()] = it->get<double>();
  }
  return out;
}

User survey_user(const Json& j) {
  User u;
  u.user_id = jsonl::need_id(j, "user_id");
  u.system_string = jsonl::opt_string(j, "system_string");
  if (u.system_string == kEmptyString) u.system_string.clear();
  const Json* prefs = jsonl::find(j, "stated_prefs");
  if (!prefs) return u;
  if (!prefs->is_object())
    throw RowError(kWrongType, jsonl::type_message("stated_prefs", "an object", *prefs));
  std::string other_text;
  if (const Json* ot = jsonl::find(*prefs, "other_text"); ot && ot->is_string())
    other_text = ot->get<std::string>();
  if (other_text.empty()) other_text = jsonl::opt_string(j, "other_text");
  if (other_text == kEmptyString) other_text.clear();
  for (auto it = prefs->begin(); it != prefs->end(); ++it) {
    if (it.key() == "other_text" || it->is_null()) continue;
    if (!it->is_number())
      throw RowError(kWrongType, "stated_prefs." + it.key() + " must be a number 0..100 or null, not " +
                                     it->type_name());
    const double w = it->get<double>();
    if (!(w >= 0 && w <= 100))
      throw RowError(kBadValue, "stated_prefs." + it.key() + " must be 0..100, not " + number_text(w));
    const std::string name = it.key() == "other" && !other_text.empty() ? other_text : it.key();
    u.stated.push_back({name, static_cast<int>(std::lround(w))});
  }
  // Most important first; ties by name, so the file's key order never matters.
  std::sort(u.stated.begin(), u.stated.end(), [](const StatedCriterion& a, const StatedCriterion& b) {
    return a.weight != b.weight ? a.weight > b.weight : a.name < b.name;
  });
  return u;
}

class PrismLoader {
 public:
  explicit PrismLoader(const LoadOptions& opts) : opts_(opts) { out_.report.format = "prism"; }

  void read_survey(std::istream& in, const std::string& name) {
    out_.dataset.users = read_prism_survey(in, name, out_.report, opts_.strict);
  }

  void read_conversations(std::istream& in, const std::string& name) {
    jsonl::for_each_line(in, name, out_.report, opts_.strict, [&](const Json& j, int64_t line) {
      Conversation c;
      c.id = jsonl::need_id(j, "conversation_id");
      c.user = jsonl::need_id(j, "user_id");
      c.type = jsonl::opt_string(j, "conversation_type");
      c.attributes = attributes_of(j);
      const Json& hist = jsonl::need_array(j, "conversation_history");
      std::map<std::string, int64_t> notes;
      for (size_t k = 0; k < hist.size(); ++k) {
        try {
          add_history_item(c, hist[k], notes);
        } catch (const RowError& e) {
          throw RowError(e.reason, "conversation_history[" + std::to_string(k) + "]: " + e.what());
        }
      }
      add_conversation(std::move(c), name + ":" + std::to_string(line));
      for (auto& [k, v] : notes) out_.report.notes[k] += v;
    });
  }

  void read_utterances(std::istream& in, const std::string& name) {
    std::map<std::string, std::string> seen_utterance;
    std::map<std::string, size_t> index;  // conversation id → position in convs_
    jsonl::for_each_line(in, name, out_.report, opts_.strict, [&](const Json& j, int64_t line) {
      const std::string where = name + ":" + std::to_string(line);
      const std::string cid = jsonl::need_id(j, "conversation_id");
      const std::string uid = jsonl::need_id(j, "user_id");
      const int64_t turn = jsonl::need_int(j, "turn");
      if (turn < 0) throw RowError(kBadValue, "\"turn\" must be >= 0");
      Response r;
      r.wid = jsonl::as_id(jsonl::need(j, "within_turn_id"), "within_turn_id");
      const std::string prompt = prism_text(j, "user_prompt");
      r.text = prism_text(j, "model_response");
      r.model = jsonl::opt_string(j, "model_name");
      r.score = prism_score(j, "score");
      r.chosen = jsonl::opt_bool(j, "if_chosen", false);
      std::string utterance;
      if (const Json* u = jsonl::find(j, "utterance_id")) utterance = jsonl::as_id(*u, "utterance_id");
      if (!utterance.empty() && seen_utterance.contains(utterance))
        throw RowError(kDuplicateId, "duplicate utterance_id \"" + utterance + "\" (first at " +
                                         seen_utterance[utterance] + ")");
      auto it = index.find(cid);
      if (it != index.end()) {
        const Conversation& c = convs_[it->second];
        if (c.user != uid)
          throw RowError(kBadValue, "conversation \"" + cid + "\" belongs to user \"" + c.user +
                                        "\", not \"" + uid + "\"");
        if (auto t = c.turns.find(turn); t != c.turns.end())
          for (const Response& o : t->second.responses)
            if (o.wid == r.wid)
              throw RowError(kDuplicateId, "duplicate (conversation_id, turn, within_turn_id) (\"" + cid +
                                               "\", " + std::to_string(turn) + ", \"" + r.wid + "\")");
      } else {
        it = index.emplace(cid, convs_.size()).first;
        Conversation c;
        c.id = cid;
        c.user = uid;
        convs_.push_back(std::move(c));
      }
      Turn& t = convs_[it->second].turns[turn];
      add_response(t, std::move(r));  // throws on a duplicate (turn, within_turn_id)
      if (!t.has_user) {
        t.has_user = true;
        t.user_text = prompt;
      } else if (t.user_text != prompt) {
        ++out_.report.notes["utterances_whose_user_prompt_differs_in_a_turn (first kept)"];
      }
      if (!utterance.empty()) seen_utterance[utterance] = where;
    });
  }

  RealData finish() {
    std::map<std::string, size_t> user_pos;
    for (size_t i = 0; i < out_.dataset.users.size(); ++i) user_pos[out_.dataset.users[i].user_id] = i;
    std::vector<std::pair<std::string, std::string>> units;
    const size_t first_pair = out_.dataset.pairs.size();
    for (const Conversation& c : convs_) {
      if (!user_pos.contains(c.user)) {
        user_pos[c.user] = out_.dataset.users.size();
        User u;
        u.user_id = c.user;
        out_.dataset.users.push_back(std::move(u));
        if (has_survey_) ++out_.report.notes["users_not_in_survey"];
      }
      const size_t before = out_.dataset.pairs.size();
      extract_pairs(c);
      if (out_.dataset.pairs.size() > before) units.emplace_back(c.user, c.id);
    }
    const auto splits = assign_splits(units, opts_);
    for (size_t i = first_pair; i < out_.dataset.pairs.size(); ++i) {
      Pair& p = out_.dataset.pairs[i];
      p.split = splits.at({p.user_id, conv_of_pair_[i - first_pair]});
    }
    unique_pair_ids(out_);
    out_.dataset.build_index();
    return std::move(out_);
  }

  void set_has_survey() { has_survey_ = true; }
  void note(const std::string& what) { ++out_.report.notes[what]; }

 private:
  void add_conversation(Conversation c, const std::string& where) {
    if (auto [it, fresh] = conv_where_.emplace(c.id, where); !fresh)
      throw RowError(kDuplicateId, "duplicate conversation_id \"" + c.id + "\" (first at " + it->second + ")");
    convs_.push_back(std::move(c));
  }

  // The response the conversation continued with after turn `t`.
  static const Response* continuation(const Turn& t) {
    const Response* best = nullptr;
    auto better = [](const Response& a, const Response* b) {
      if (!b) return true;
      if (a.chosen != b->chosen) return a.chosen;
      const double sa = a.score.value_or(-1), sb = b->score.value_or(-1);
      if (sa != sb) return sa > sb;
      return wid_less(a.wid, b->wid);
    };
    for (const Response& r : t.responses)
      if (better(r, best)) best = &r;
    return best;
  }

  void extract_pairs(const Conversation& c) {
    auto& filtered = out_.report.filtered;
    std::ostringstream gap_name;
    gap_name << "score_gap_below_" << opts_.min_score_gap;
    std::vector<Message> context;
    for (const auto& [turn, t] : c.turns) {
      if (!t.has_user) {
        ++filtered["turn_without_user_message"];
        continue;
      }
      context.push_back({"user", t.user_text});
      std::vector<const Response*> scored;
      int chosen = 0;
      for (const Response& r : t.responses) {
        if (r.chosen) ++chosen;
        if (r.score)
          scored.push_back(&r);
        else
          ++filtered["unscored_response"];
      }
      if (chosen > 1) ++out_.report.notes["turns_with_several_if_chosen"];
      std::sort(scored.begin(), scored.end(),
                [](const Response* a, const Response* b) { return wid_less(a->wid, b->wid); });
      for (size_t a = 0; a < scored.size(); ++a) {
        for (size_t b = a + 1; b < scored.size(); ++b) {
          const double gap = std::fabs(*scored[a]->score - *scored[b]->score);
          if (gap == 0) {
            ++filtered["equal_scores"];
            continue;
          }
          if (gap < opts_.min_score_gap) {
            ++filtered[gap_name.str()];
            continue;
          }
          const bool a_wins = *scored[a]->score > *scored[b]->score;
          const Response& w = a_wins ? *scored[a] : *scored[b];
          const Response& l = a_wins ? *scored[b] : *scored[a];
          Pair p;
          p.pair_id = c.id + "-t" + std::to_string(turn) + "-" + scored[a]->wid + "v" + scored[b]->wid;
          p.user_id = c.user;
          p.context = context;
          p.chosen = w.text;
          p.rejected = l.text;
          p.chosen_score = w.score;
          p.rejected_score = l.score;
          p.scenario = c.type;
          if (!c.attributes.empty() || !w.model.empty() || !l.model.empty())
            out_.extras[p.pair_id] = PairExtras{c.attributes, false, w.model, l.model};
          out_.dataset.pairs.push_back(std::move(p));
          conv_of_pair_.push_back(c.id);
        }
      }
      if (const Response* next = continuation(t)) context.push_back({"assistant", next->text});
    }
  }

  LoadOptions opts_;
  RealData out_;
  bool has_survey_ = false;
  std::vector<Conversation> convs_;
  std::map<std::string, std::string> conv_where_;
  std::vector<std::string> conv_of_pair_;
};

}  // namespace

std::vector<User> read_prism_survey(std::istream& in, const std::string& name, LoadReport& report,
                                    bool strict) {
  std::vector<User> users;
  std::map<std::string, std::string> first;  // user id → file:line
  jsonl::for_each_line(in, name, report, strict, [&](const Json& j, int64_t line) {
    User u = survey_user(j);
    const std::string where = name + ":" + std::to_string(line);
    if (auto [it, fresh] = first.emplace(u.user_id, where); !fresh)
      throw RowError(kDuplicateId, "duplicate user_id \"" + u.user_id + "\" (first at " + it->second + ")");
    users.push_back(std::move(u));
  });
  return users;
}

PrismFiles prism_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  PrismFiles f;
  for (const std::string& p : paths) {
    if (fs::is_directory(p)) {
      for (const char* n : {"survey.jsonl", "conversations.jsonl", "utterances.jsonl"}) {
        const std::string q = (fs::path(p) / n).string();
        if (!fs::exists(q)) continue;
        if (std::string(n) == "survey.jsonl") f.survey = q;
        if (std::string(n) == "conversations.jsonl") f.conversations = q;
        if (std::string(n) == "utterances.jsonl") f.utterances = q;
      }
      continue;
    }
    const std::string name = fs::path(p).filename().string();
    if (name.find("survey") != std::string::npos)
      f.survey = p;
    else if (name.find("utterance") != std::string::npos)
      f.utterances = p;
    else if (name.find("conversation") != std::string::npos)
      f.conversations = p;
    else
      throw Error("PRISM: cannot tell what '" + p + "' is",
                  "name the files survey.jsonl, conversations.jsonl, utterances.jsonl, or pass their directory");
  }
  if (f.conversations.empty() && f.utterances.empty())
    throw Error("PRISM: no conversations.jsonl or utterances.jsonl among the paths given",
                "pass the directory that holds the PRISM files (survey.jsonl + conversations.jsonl)");
  return f;
}

RealData load_prism(const PrismFiles& files, const LoadOptions& opts) {
  PrismLoader loader(opts);
  auto open = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open '" + path + "'", "check the path");
    return in;
  };
  if (!files.survey.empty()) {
    auto in = open(files.survey);
    loader.read_survey(in, files.survey);
    loader.set_has_survey();
  }
  if (!files.conversations.empty()) {
    auto in = open(files.conversations);
    loader.read_conversations(in, files.conversations);
    if (!files.utterances.empty()) loader.note("utterances.jsonl not read (conversations.jsonl was)");
  } else {
    auto in = open(files.utterances);
    loader.read_utterances(in, files.utterances);
  }
  return loader.finish();
}

RealData load_prism_text(std::string_view survey, std::string_view conversations,
                         std::string_view utterances, const LoadOptions& opts) {
  PrismLoader loader(opts);
  if (!survey.empty()) {
    std::istringstream in{std::string(survey)};
    loader.read_survey(in, "survey.jsonl");
    loader.set_has_survey();
  }
  if (!conversations.empty() || utterances.empty()) {
    std::istringstream in{std::string(conversations)};
    loader.read_conversations(in, "conversations.jsonl");
  } else {
    std::istringstream in{std::string(utterances)};
    loader.read_utterances(in, "utterances.jsonl");
  }
  return loader.finish();
}

}  // namespace pgenrm::data
