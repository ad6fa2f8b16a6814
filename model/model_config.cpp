#include "model/model_config.h"

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/options.h"

namespace pgenrm::model {

using nlohmann::json;

void ModelConfig::validate() const {
  auto bad = [](const std::string& what) {
    throw Error("invalid model shape: " + what,
                "fix model.* in the config or the model's config.json");
  };
  if (d_model <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 ||
      d_ff <= 0 || vocab_size <= 1)
    bad("sizes must be positive");
  if (n_heads % n_kv_heads != 0)
    bad("n_heads (" + std::to_string(n_heads) + ") must be a multiple of n_kv_heads (" +
        std::to_string(n_kv_heads) + ")");
  if (head_dim % 2 != 0) bad("head_dim must be even for RoPE");
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3") bad("unknown arch '" + arch + "'");
  if (!rope_scaling.type.empty() && rope_scaling.type != "llama3")
    bad("unsupported rope_scaling type '" + rope_scaling.type + "' (supported: llama3)");
}

ModelConfig config_from_options(const core::ModelOptions& o) {
  ModelConfig c;
  c.arch = o.arch;
  c.vocab_size = o.vocab_size;
  c.d_model = o.d_model;
  c.n_layers = o.n_layers;
  c.n_heads = o.n_heads;
  c.n_kv_heads = o.n_kv_heads;
  c.head_dim = o.head_dim > 0 ? o.head_dim : o.d_model / o.n_heads;
  c.d_ff = o.d_ff > 0 ? o.d_ff : ((8 * o.d_model / 3 + 31) / 32) * 32;
  c.max_seq_len = o.max_seq_len;
  c.rope_theta = o.rope_theta;
  c.norm_eps = o.norm_eps;
  c.tie_embeddings = o.tie_embeddings;
  c.qk_norm = o.qk_norm || o.arch == "qwen3";
  c.qkv_bias = o.qkv_bias || o.arch == "qwen2";
  c.o_bias = c.qkv_bias && o.arch != "qwen2";  // as config.json's attention_bias reads back
  c.dtype = o.dtype;
  c.init_std = o.init_std;
  c.validate();
  return c;
}

namespace {
template <class T>
T get_or(const json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}
void read_token_ids(const json& j, const char* key, int64_t* first, std::vector<int64_t>* rest) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if (it->is_number_integer()) {
    *first = it->get<int64_t>();
  } else if (it->is_array() && !it->empty()) {
    *first = (*it)[0].get<int64_t>();
    if (rest)
      for (size_t i = 1; i < it->size(); ++i) rest->push_back((*it)[i].get<int64_t>());
  }
}
}  // namespace

ModelConfig config_from_hf_json(const std::string& path) {
  std::ifstream in(path);
  PGENRM_CHECK(in.good(), "cannot read " + path,
               "model.hf_path must be a directory with config.json and model.safetensors");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what(), "re-export the model's config.json");
  }
  ModelConfig c;
  try {
    std::string mt = get_or<std::string>(j, "model_type", "");
    if (mt == "llama" || mt == "qwen2" || mt == "qwen3") {
      c.arch = mt;
    } else {
      throw Error(path + ": model_type '" + mt + "' is not supported",
                  "supported: llama (LlamaForCausalLM), qwen2, qwen3");
    }
    c.vocab_size = j.at("vocab_size").get<int64_t>();
    c.d_model = j.at("hidden_size").get<int64_t>();
    c.n_layers = j.at("num_hidden_layers").get<int64_t>();
    c.n_heads = j.at("num_attention_heads").get<int64_t>();
    c.n_kv_heads = get_or<int64_t>(j, "num_key_value_heads", c.n_heads);
    c.head_dim = get_or<int64_t>(j, "head_dim", c.d_model / c.n_heads);
    c.d_ff = j.at("intermediate_size").get<int64_t>();
    c.max_seq_len = get_or<int64_t>(j, "max_position_embeddings", 4096);
    c.rope_theta = get_or<double>(j, "rope_theta", 10000.0);
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
      // transformers >= 5 nests rope settings under rope_parameters.
      c.rope_theta = get_or<double>(j["rope_parameters"], "rope_theta", c.rope_theta);
    }
    const json* rs = nullptr;
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) rs = &j["rope_scaling"];
    if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
      std::string t = get_or<std::string>(j["rope_parameters"], "rope_type", "default");
      if (t != "default") rs = &j["rope_parameters"];
    }
    if (rs) {
      std::string t = get_or<std::string>(*rs, "rope_type", get_or<std::string>(*rs, "type", ""));
      if (t != "default" && !t.empty()) {
        c.rope_scaling.type = t;
        c.rope_scaling.factor = get_or<double>(*rs, "factor", 8.0);
        c.rope_scaling.low_freq_factor = get_or<double>(*rs, "low_freq_factor", 1.0);
        c.rope_scaling.high_freq_factor = get_or<double>(*rs, "high_freq_factor", 4.0);
        c.rope_scaling.original_max_position =
            get_or<int64_t>(*rs, "original_max_position_embeddings", 8192);
      }
    }
    c.norm_eps = get_or<double>(j, "rms_norm_eps", 1e-6);
    c.tie_embeddings = get_or<bool>(j, "tie_word_embeddings", false);
    c.qk_norm = c.arch == "qwen3";
    c.qkv_bias = c.arch == "qwen2" ? true : get_or<bool>(j, "attention_bias", false);
    // Llama and Qwen3 put attention_bias on q, k, v and o; Qwen2 on q, k, v only.
    c.o_bias = c.arch == "qwen2" ? false : get_or<bool>(j, "attention_bias", false);
    c.mlp_bias = get_or<bool>(j, "mlp_bias", false);
    read_token_ids(j, "bos_token_id", &c.bos_id, nullptr);
    read_token_ids(j, "eos_token_id", &c.eos_id, &c.extra_eos_ids);
    read_token_ids(j, "pad_token_id", &c.pad_id, nullptr);
    std::string dt = get_or<std::string>(j, "torch_dtype", get_or<std::string>(j, "dtype", "float32"));
    c.dtype = dt == "bfloat16" ? "bfloat16" : "float32";
  } catch (const json::exception& e) {
    throw Error(path + ": missing or mistyped field: " + e.what(),
                "compare with a config.json written by transformers' save_pretrained");
  }
  c.validate();
  return c;
}

std::string config_to_hf_json(const ModelConfig& c) {
  json j;
  static const std::map<std::string, std::pair<const char*, const char*>> kNames = {
      {"llama", {"LlamaForCausalLM", "llama"}},
      {"qwen2", {"Qwen2ForCausalLM", "qwen2"}},
      {"qwen3", {"Qwen3ForCausalLM", "qwen3"}}};
  const auto& [cls, type] = kNames.at(c.arch);
  j["architectures"] = {cls};
  j["model_type"] = type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.d_model;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["intermediate_size"] = c.d_ff;
  j["max_position_embeddings"] = c.max_seq_len;
  j["rope_theta"] = c.rope_theta;
  if (!c.rope_scaling.type.empty()) {
    j["rope_scaling"] = {{"rope_type", c.rope_scaling.type},
                         {"factor", c.rope_scaling.factor},
                         {"low_freq_factor", c.rope_scaling.low_freq_factor},
                         {"high_freq_factor", c.rope_scaling.high_freq_factor},
                         {"original_max_position_embeddings", c.rope_scaling.original_max_position}};
  }
  j["rms_norm_eps"] = c.norm_eps;
  j["tie_word_embeddings"] = c.tie_embeddings;
  j["hidden_act"] = "silu";
  if (c.arch == "llama") {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = c.mlp_bias;
  } else if (c.arch == "qwen3") {
    j["attention_bias"] = c.qkv_bias;
  }
  if (c.bos_id >= 0) j["bos_token_id"] = c.bos_id;
  if (c.eos_id >= 0) {
    if (c.extra_eos_ids.empty()) {
      j["eos_token_id"] = c.eos_id;
    } else {
      std::vector<int64_t> all{c.eos_id};
      all.insert(all.end(), c.extra_eos_ids.begin(), c.extra_eos_ids.end());
      j["eos_token_id"] = all;
    }
  }
  if (c.pad_id >= 0) j["pad_token_id"] = c.pad_id;
  j["torch_dtype"] = c.dtype;
  return j.dump(2) + "\n";
}

}  // namespace pgenrm::model
