// PersonalRewardBench rows → Dataset + test items (see prb.h).
#include "data/prb.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/history.h"
#include "data/jsonl.h"
#include "data/prism.h"
#include "data/rng.h"

namespace pgenrm::data {

namespace {

using jsonl::Json;
using jsonl::RowError;

// A response: {content, role} or a bare string.
std::string response_text(const Json& j, const char* key) {
  const Json& v = jsonl::need(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    const Json* c = jsonl::find(v, "content");
    if (!c) throw RowError(kMissingField, std::string("missing key \"") + key + ".content\"");
    if (!c->is_string()) throw RowError(kWrongType, std::string("\"") + key + ".content\" must be a string, not " + c->type_name());
    return c->get<std::string>();
  }
  throw RowError(kWrongType, jsonl::type_message(key, "{content, role} or a string", v));
}

std::vector<Message> context_of(const Json& j) {
  const Json& ctx = jsonl::need_array(j, "context");
  std::vector<Message> out;
  for (size_t k = 0; k < ctx.size(); ++k) {
    const Json& m = ctx[k];
    const std::string at = "context[" + std::to_string(k) + "]";
    if (!m.is_object()) throw RowError(kWrongType, at + " must be {content, role}, not " + m.type_name());
    try {
      out.push_back({jsonl::need_string(m, "role"), jsonl::need_string(m, "content")});
    } catch (const RowError& e) {
      throw RowError(e.reason, at + ": " + e.what());
    }
  }
  return out;
}

class PrbLoader {
 public:
  explicit PrbLoader(const LoadOptions& opts) : opts_(opts) { out_.data.report.format = "prb"; }

  void read_rows(std::istream& in, const std::string& name) {
    RealData& d = out_.data;
    jsonl::for_each_line(in, name, d.report, opts_.strict, [&](const Json& j, int64_t line) {
      Pair p;
      p.user_id = jsonl::need_id(j, "user_id");
      p.pair_id = jsonl::need_id(j, "conversation_id");
      p.context = context_of(j);
      p.chosen = response_text(j, "chosen");
      p.rejected = response_text(j, "rejected");
      p.chosen_score = jsonl::opt_number(j, "chosen_score");
      p.rejected_score = jsonl::opt_number(j, "rejected_score");
      const std::string split = jsonl::need_string(j, "split");
      auto s = parse_split(split);
      if (!s) throw RowError(kBadValue, "\"split\" must be train, val, validation or test, not \"" + split + "\"");
      p.split = *s;
      if (const Json* t = jsonl::find(j, "type"); t && t->is_string()) p.scenario = t->get<std::string>();
      const bool flip = jsonl::opt_bool(j, "flip", false);
      // Duplicate rows: same user, conversation, context and responses.
      std::string key = p.user_id + '\x1f' + p.pair_id + '\x1f' + p.chosen + '\x1f' + p.rejected;
      for (const Message& m : p.context) key += '\x1f' + m.role + '\x1e' + m.content;
      const std::string where = name + ":" + std::to_string(line);
      if (auto [it, fresh] = seen_rows_.emplace(hash_string(key), where); !fresh)
        throw RowError(kDuplicateId, "duplicate row: user_id \"" + p.user_id + "\", conversation_id \"" +
                                         p.pair_id + "\" and both responses as at " + it->second);
      if (int n = ++seen_ids_[p.pair_id]; n > 1) p.pair_id += "#" + std::to_string(n);
      if (!user_pos_.contains(p.user_id)) {
        user_pos_[p.user_id] = d.dataset.users.size();
        User u;
        u.user_id = p.user_id;
        d.dataset.users.push_back(std::move(u));
      }
      if (flip) {
        d.extras[p.pair_id].flip = true;
        ++d.report.notes["rows_with_flip"];
      }
      d.dataset.pairs.push_back(std::move(p));
    });
  }

  void read_survey(std::istream& in, const std::string& name) {
    RealData& d = out_.data;
    for (User& s : read_prism_survey(in, name, d.report, opts_.strict)) surveyed_.push_back(std::move(s));
  }

  PrbData finish() {
    RealData& d = out_.data;
    for (User& s : surveyed_) {
      auto it = user_pos_.find(s.user_id);
      if (it == user_pos_.end()) {
        ++d.report.notes["survey_users_without_rows"];
        user_pos_[s.user_id] = d.dataset.users.size();
        d.dataset.users.push_back(std::move(s));
      } else {
        d.dataset.users[it->second].stated = std::move(s.stated);
        d.dataset.users[it->second].system_string = std::move(s.system_string);
      }
    }
    unique_pair_ids(d);
    d.dataset.build_index();
    HistoryOptions h;
    h.h = opts_.history;
    h.include_val = true;
    for (size_t i = 0; i < d.dataset.pairs.size(); ++i) {
      const Pair& p = d.dataset.pairs[i];
      if (p.split != Split::kTest) continue;
      PrbTestItem item;
      item.pair_id = p.pair_id;
      for (const Pair* q : sample_history(d.dataset, p, h, opts_.seed)) item.history.push_back(q->pair_id);
      if (item.history.empty()) ++d.report.notes["test_pairs_with_empty_history"];
      if (auto e = d.extras.find(p.pair_id); e != d.extras.end() && e->second.flip) item.order = {1, 0};
      out_.test.push_back(std::move(item));
    }
    return std::move(out_);
  }

 private:
  LoadOptions opts_;
  PrbData out_;
  std::map<std::string, size_t> user_pos_;
  std::map<std::string, int> seen_ids_;
  std::map<uint64_t, std::string> seen_rows_;
  std::vector<User> surveyed_;
};

}  // namespace

std::vector<std::string> prb_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    if (!fs::is_directory(p)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(p))
      if (e.is_regular_file() && e.path().extension() == ".jsonl") in_dir.push_back(e.path().string());
    std::sort(in_dir.begin(), in_dir.end());
    if (in_dir.empty())
      throw Error("no *.jsonl file in '" + p + "'",
                  "export the dataset to JSON lines (one row per line) into that folder, or pass the files");
    out.insert(out.end(), in_dir.begin(), in_dir.end());
  }
  return out;
}

PrbData load_prb(const std::vector<std::string>& files, const LoadOptions& opts) {
  PrbLoader loader(opts);
  for (const std::string& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw Error("cannot open '" + f + "'", "check the path");
    if (std::filesystem::path(f).filename().string().find("survey") != std::string::npos)
      loader.read_survey(in, f);
    else
      loader.read_rows(in, f);
  }
  return loader.finish();
}

PrbData load_prb_text(std::string_view rows, const LoadOptions& opts, std::string_view survey) {
  PrbLoader loader(opts);
  std::istringstream in{std::string(rows)};
  loader.read_rows(in, "prb.jsonl");
  if (!survey.empty()) {
    std::istringstream s{std::string(survey)};
    loader.read_survey(s, "survey.jsonl");
  }
  return loader.finish();
}

}  // namespace pgenrm::data
