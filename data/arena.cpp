// Chatbot Arena votes → Dataset (see arena.h).
#include "data/arena.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/jsonl.h"
#include "data/prb.h"

namespace pgenrm::data {

namespace {

using jsonl::Json;
using jsonl::RowError;

std::vector<Message> conversation(const Json& j, const char* key) {
  const Json& c = jsonl::need_array(j, key);
  std::vector<Message> out;
  for (size_t k = 0; k < c.size(); ++k) {
    const std::string at = std::string(key) + "[" + std::to_string(k) + "]";
    if (!c[k].is_object()) throw RowError(kWrongType, at + " must be {content, role}, not " + c[k].type_name());
    try {
      Message m{jsonl::need_string(c[k], "role"), jsonl::need_string(c[k], "content")};
      if (m.role != "user" && m.role != "assistant")
        throw RowError(kBadValue, "\"role\" must be user or assistant, not \"" + m.role + "\"");
      out.push_back(std::move(m));
    } catch (const RowError& e) {
      throw RowError(e.reason, at + ": " + e.what());
    }
  }
  if (out.empty() || out.back().role != "assistant")
    throw RowError(kBadValue, std::string("\"") + key + "\" must end with an assistant message");
  return out;
}

std::vector<std::string> user_messages(const std::vector<Message>& c) {
  std::vector<std::string> out;
  for (const Message& m : c)
    if (m.role == "user") out.push_back(m.content);
  return out;
}

class ArenaLoader {
 public:
  explicit ArenaLoader(const LoadOptions& opts) : opts_(opts) { out_.report.format = "arena"; }

  void read(std::istream& in, const std::string& name) {
    jsonl::for_each_line(in, name, out_.report, opts_.strict, [&](const Json& j, int64_t line) {
      const std::string qid = jsonl::need_id(j, "question_id");
      const std::string judge = jsonl::need_id(j, "judge");
      const std::string winner = jsonl::need_string(j, "winner");
      const auto a = conversation(j, "conversation_a");
      const auto b = conversation(j, "conversation_b");
      const std::string model_a = jsonl::opt_string(j, "model_a");
      const std::string model_b = jsonl::opt_string(j, "model_b");
      if (winner != "model_a" && winner != "model_b" && winner != "tie" && winner != "tie (bothbad)")
        throw RowError(kBadValue, "\"winner\" must be model_a, model_b, tie or tie (bothbad), not \"" +
                                      winner + "\"");
      if (user_messages(a) != user_messages(b))
        throw RowError(kBadValue, "conversation_a and conversation_b hold different user messages");
      if (user_messages(a).empty())
        throw RowError(kBadValue, "the conversations hold no user message");
      const std::string where = name + ":" + std::to_string(line);
      if (auto [it, fresh] = seen_.emplace(qid, where); !fresh)
        throw RowError(kDuplicateId, "duplicate question_id \"" + qid + "\" (first at " + it->second + ")");
      if (!user_pos_.contains(judge)) {
        user_pos_[judge] = out_.dataset.users.size();
        User u;
        u.user_id = judge;
        out_.dataset.users.push_back(std::move(u));
      }
      if (winner == "tie") {
        ++out_.report.filtered["tie"];
        return;
      }
      if (winner == "tie (bothbad)") {
        ++out_.report.filtered["tie (bothbad)"];
        return;
      }
      const bool a_wins = winner == "model_a";
      const auto& w = a_wins ? a : b;
      const auto& l = a_wins ? b : a;
      Pair p;
      p.pair_id = qid;
      p.user_id = judge;
      p.context.assign(w.begin(), w.end() - 1);
      p.chosen = w.back().content;
      p.rejected = l.back().content;
      if (user_messages(a).size() > 1) ++out_.report.notes["multi_turn_votes"];
      if (!model_a.empty() || !model_b.empty())
        out_.extras[p.pair_id] = PairExtras{{}, false, a_wins ? model_a : model_b, a_wins ? model_b : model_a};
      units_.emplace_back(judge, qid);
      out_.dataset.pairs.push_back(std::move(p));
    });
  }

  RealData finish() {
    const auto splits = assign_splits(units_, opts_);
    for (Pair& p : out_.dataset.pairs) p.split = splits.at({p.user_id, p.pair_id});
    unique_pair_ids(out_);  // ids come from distinct question_ids; kept for symmetry
    out_.dataset.build_index();
    return std::move(out_);
  }

 private:
  LoadOptions opts_;
  RealData out_;
  std::map<std::string, size_t> user_pos_;
  std::map<std::string, std::string> seen_;
  std::vector<std::pair<std::string, std::string>> units_;
};

}  // namespace

RealData load_arena(const std::vector<std::string>& files, const LoadOptions& opts) {
  ArenaLoader loader(opts);
  for (const std::string& f : prb_files(files)) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw Error("cannot open '" + f + "'", "check the path");
    loader.read(in, f);
  }
  return loader.finish();
}

RealData load_arena_text(std::string_view rows, const LoadOptions& opts) {
  ArenaLoader loader(opts);
  std::istringstream in{std::string(rows)};
  loader.read(in, "arena.jsonl");
  return loader.finish();
}

}  // namespace pgenrm::data
