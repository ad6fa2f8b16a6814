// The shape of a decoder (Llama / Qwen2 / Qwen3 family), from our YAML
// options or from a Hugging Face config.json, and back to config.json.
// Plain data; no tensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgenrm::core {
struct ModelOptions;
}

namespace pgenrm::model {

struct RopeScaling {
  std::string type;  // "" (none) or "llama3"
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position = 8192;
};

struct ModelConfig {
  std::string arch = "llama";  // llama | qwen2 | qwen3
  int64_t vocab_size = 512;
  int64_t d_model = 128;
  int64_t n_layers = 3;
  int64_t n_heads = 4;
  int64_t n_kv_heads = 2;
  int64_t head_dim = 32;
  int64_t d_ff = 352;
  int64_t max_seq_len = 1024;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;
  bool qk_norm = false;
  bool qkv_bias = false;
  bool o_bias = false;
  bool mlp_bias = false;
  int64_t bos_id = -1, eos_id = -1, pad_id = -1;
  std::vector<int64_t> extra_eos_ids;
  std::string dtype = "float32";  // storage dtype written to config.json
  double init_std = 0.02;

  // Throws pgenrm::Error naming the field when the shape is inconsistent.
  void validate() const;
};

// d_ff = 0 → 8/3·d_model rounded up to a multiple of 32; head_dim = 0 →
// d_model / n_heads.
ModelConfig config_from_options(const core::ModelOptions& o);
// config.json of LlamaForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM.
ModelConfig config_from_hf_json(const std::string& path);
std::string config_to_hf_json(const ModelConfig& c);

}  // namespace pgenrm::model
