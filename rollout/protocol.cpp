#include "rollout/protocol.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace pgenrm::rollout {

using nlohmann::json;

namespace {

const char* kFix = "learners and rollout workers must run the same pgenrm build and config";

json parse(const std::string& text, const std::string& what) {
  try {
    json j = json::parse(text);
    PGENRM_CHECK(j.is_object(), what + " is not a JSON object", kFix);
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + " is not valid JSON: " + e.what(), kFix);
  }
}

template <class T>
T field(const json& j, const char* key, const std::string& what) {
  PGENRM_CHECK(j.contains(key), what + " lacks the field '" + key + "'", kFix);
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(what + ": field '" + std::string(key) + "' has the wrong type (" + j.at(key).dump() + ")", kFix);
  }
}

}  // namespace

uint64_t hash_ids(const std::vector<int64_t>& ids) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the 8 bytes of each id
  for (int64_t id : ids) {
    uint64_t v = static_cast<uint64_t>(id);
    for (int b = 0; b < 8; ++b) {
      h ^= (v >> (8 * b)) & 0xff;
      h *= 1099511628211ULL;
    }
  }
  return h;
}

std::string to_json(const Request& r) {
  return json{{"stage", r.stage},       {"prompt", r.prompt},      {"step", r.step},
              {"index", r.index},       {"pair", r.pair},
              {"prompt_seed", r.prompt_seed}, {"prompt_hash", r.prompt_hash},
              {"seed", r.seed},         {"group", r.group},
              {"temperature", r.temperature}, {"top_p", r.top_p},
              {"top_k", r.top_k},       {"max_new_tokens", r.max_new_tokens},
              {"pad_id", r.pad_id},     {"stop_ids", r.stop_ids},
              {"min_version", r.min_version}}
      .dump();
}

Request request_from_json(const std::string& text) {
  const std::string what = "rollout request";
  const json j = parse(text, what);
  Request r;
  r.stage = field<std::string>(j, "stage", what);
  PGENRM_CHECK(r.stage == "cre" || r.stage == "curriculum", what + ": unknown stage '" + r.stage + "'", kFix);
  r.prompt = field<std::string>(j, "prompt", what);
  PGENRM_CHECK(r.prompt == "cre" || r.prompt == "psi", what + ": unknown prompt kind '" + r.prompt + "'", kFix);
  r.step = field<int64_t>(j, "step", what);
  r.index = field<int64_t>(j, "index", what);
  r.pair = field<int64_t>(j, "pair", what);
  r.prompt_seed = field<uint64_t>(j, "prompt_seed", what);
  r.prompt_hash = field<uint64_t>(j, "prompt_hash", what);
  r.seed = field<uint64_t>(j, "seed", what);
  r.group = field<int64_t>(j, "group", what);
  PGENRM_CHECK(r.group >= 1 && r.group <= 4096, what + ": group " + std::to_string(r.group) + " out of range", kFix);
  r.temperature = field<double>(j, "temperature", what);
  r.top_p = field<double>(j, "top_p", what);
  r.top_k = field<int64_t>(j, "top_k", what);
  r.max_new_tokens = field<int64_t>(j, "max_new_tokens", what);
  r.pad_id = field<int64_t>(j, "pad_id", what);
  r.stop_ids = field<std::vector<int64_t>>(j, "stop_ids", what);
  r.min_version = field<int64_t>(j, "min_version", what);
  PGENRM_CHECK(r.index >= 0 && r.pair >= 0 && r.max_new_tokens >= 0,
               what + ": negative index, pair or max_new_tokens", kFix);
  return r;
}

std::string to_json(const Result& r) {
  json chains = json::array();
  for (const auto& c : r.chains)
    chains.push_back({{"tokens", c.tokens},   {"logprobs", c.logprobs}, {"reward", c.reward},
                      {"outcome", c.outcome}, {"process", c.process},   {"format_error", c.format_error},
                      {"totals", c.totals}});
  return json{{"index", r.index},
              {"version", r.version},
              {"chains", chains},
              {"prompt_tokens", r.prompt_tokens},
              {"generated_tokens", r.generated_tokens},
              {"seconds", r.seconds},
              {"worker", r.worker},
              {"error", r.error}}
      .dump();
}

Result result_from_json(const std::string& text, int64_t group) {
  const std::string what = "rollout result";
  const json j = parse(text, what);
  Result r;
  r.index = field<int64_t>(j, "index", what);
  r.version = field<int64_t>(j, "version", what);
  r.worker = j.value("worker", std::string());
  r.error = field<std::string>(j, "error", what);
  if (!r.error.empty()) return r;
  r.prompt_tokens = field<int64_t>(j, "prompt_tokens", what);
  r.generated_tokens = field<int64_t>(j, "generated_tokens", what);
  r.seconds = field<double>(j, "seconds", what);
  const json& chains = j.at("chains");
  PGENRM_CHECK(chains.is_array() && static_cast<int64_t>(chains.size()) == group,
               what + " for item " + std::to_string(r.index) + " holds " +
                   std::to_string(chains.is_array() ? chains.size() : 0) + " chains, " + std::to_string(group) +
                   " were asked for",
               kFix);
  for (const auto& c : chains) {
    ChainOut o;
    o.tokens = field<std::vector<int64_t>>(c, "tokens", what + " chain");
    o.logprobs = field<std::vector<float>>(c, "logprobs", what + " chain");
    PGENRM_CHECK(o.tokens.size() == o.logprobs.size(),
                 what + ": a chain has " + std::to_string(o.tokens.size()) + " tokens but " +
                     std::to_string(o.logprobs.size()) + " log-probs",
                 kFix);
    o.reward = field<double>(c, "reward", what + " chain");
    o.outcome = field<double>(c, "outcome", what + " chain");
    o.process = field<double>(c, "process", what + " chain");
    o.format_error = field<bool>(c, "format_error", what + " chain");
    o.totals = field<std::vector<double>>(c, "totals", what + " chain");
    r.chains.push_back(std::move(o));
  }
  return r;
}

std::string to_json(const Notice& n) {
  return json{{"version", n.version}, {"checksum", n.checksum}, {"file", n.file}, {"stop", n.stop}}.dump();
}

Notice notice_from_json(const std::string& text) {
  Notice n;
  if (text.empty()) return n;
  const std::string what = "coordinator notice";
  const json j = parse(text, what);
  n.version = field<int64_t>(j, "version", what);
  n.checksum = field<uint64_t>(j, "checksum", what);
  n.file = field<std::string>(j, "file", what);
  n.stop = field<bool>(j, "stop", what);
  return n;
}

}  // namespace pgenrm::rollout
