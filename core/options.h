// Every configuration option of pgenrm, as plain structs with their defaults.
// The declarations (key, help, limits) are in options.cpp, next to nothing
// else, so that the list a user reads in `--help-config` is this list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgenrm::core {

class Schema;

struct RunOptions {
  std::string name = "demo";
  std::string out_dir = "runs";
  int64_t seed = 1234;
  bool deterministic = true;
  int64_t threads = 0;
};

struct LogOptions {
  std::string level = "info";
  bool all_ranks = false;
  std::string progress = "auto";
  double interval_s = 10.0;
};

struct ModelOptions {
  std::string arch = "llama";
  std::string hf_path;
  std::string tokenizer;
  int64_t vocab_size = 512;
  int64_t d_model = 128;
  int64_t n_layers = 3;
  int64_t n_heads = 4;
  int64_t n_kv_heads = 2;
  int64_t head_dim = 0;
  int64_t d_ff = 0;
  int64_t max_seq_len = 1024;
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;
  bool qk_norm = false;
  bool qkv_bias = false;
  std::string dtype = "float32";
  double init_std = 0.02;
  int64_t lora_rank = 0;
  double lora_alpha = 16.0;
  std::vector<std::string> lora_targets = {"q_proj", "v_proj"};
  bool activation_checkpointing = false;
};

struct SampleOptions {
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  int64_t max_new_tokens = 256;
};

struct TrainerOptions {
  double lr = 3e-4;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = 20;
  double weight_decay = 0.0;
  double grad_clip = 1.0;
  int64_t batch_size = 32;
  int64_t grad_accum = 1;
};

struct Config {
  RunOptions run;
  LogOptions log;
  ModelOptions model;
  SampleOptions sample;
  TrainerOptions trainer;
};

// Binds every field of `cfg` into `schema`; the field's current value is the
// option's default.
void declare_options(Schema& schema, Config& cfg);

// Defaults, then the YAML file (if `path` is non-empty), then the overrides.
// Throws ConfigError naming the file:line / key / value on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides);
// The resolved config as YAML that load_config reads back to the same values.
std::string dump_config(const Config& cfg);
// Every option with type, default, allowed values and help.
std::string config_help();

}  // namespace pgenrm::core
