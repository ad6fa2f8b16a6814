#include "core/options.h"

#include "core/config.h"

namespace pgenrm::core {

void declare_options(Schema& s, Config& c) {
  // run
  s.add("run.name", &c.run.name, "run name; outputs go to <run.out_dir>/<run.name>/");
  s.add("run.out_dir", &c.run.out_dir, "directory holding run directories");
  s.add("run.seed", &c.run.seed, "base seed of every random stream").min(0);
  s.add("run.deterministic", &c.run.deterministic,
        "deterministic CPU kernels and fixed reduction order (exact resume)");
  s.add("run.threads", &c.run.threads, "intra-op CPU threads (0 = one per core)").min(0);

  // log
  s.add("log.level", &c.log.level, "log level").choices({"debug", "info", "warn", "error"});
  s.add("log.all_ranks", &c.log.all_ranks, "log info messages from every rank, not only rank 0");
  s.add("log.progress", &c.log.progress,
        "progress display: a bar on a terminal, periodic lines otherwise (auto)")
      .choices({"auto", "bar", "lines", "off"});
  s.add("log.interval_s", &c.log.interval_s, "seconds between periodic progress lines")
      .range(0.1, 3600);

  // model
  s.add("model.arch", &c.model.arch, "decoder family").choices({"llama", "qwen2", "qwen3"});
  s.add("model.hf_path", &c.model.hf_path,
        "Hugging Face model directory (config.json + safetensors); overrides the shape below");
  s.add("model.tokenizer", &c.model.tokenizer, "tokenizer.json (BPE or WordLevel)");
  s.add("model.vocab_size", &c.model.vocab_size, "vocabulary size").range(2, 1 << 22);
  s.add("model.d_model", &c.model.d_model, "hidden size").range(8, 65536);
  s.add("model.n_layers", &c.model.n_layers, "decoder layers").range(1, 512);
  s.add("model.n_heads", &c.model.n_heads, "attention heads").range(1, 1024);
  s.add("model.n_kv_heads", &c.model.n_kv_heads, "key/value heads (grouped-query attention)")
      .range(1, 1024);
  s.add("model.head_dim", &c.model.head_dim, "head dimension (0 = d_model / n_heads)")
      .range(0, 4096);
  s.add("model.d_ff", &c.model.d_ff, "SwiGLU inner size (0 = 8/3 d_model rounded up to 32)")
      .range(0, 1 << 20);
  s.add("model.max_seq_len", &c.model.max_seq_len, "longest sequence (prompt + chain)")
      .range(8, 1 << 20);
  s.add("model.rope_theta", &c.model.rope_theta, "RoPE base").min(1.0);
  s.add("model.norm_eps", &c.model.norm_eps, "RMSNorm epsilon").range(1e-12, 1e-2);
  s.add("model.tie_embeddings", &c.model.tie_embeddings, "LM head shares the embedding matrix");
  s.add("model.qk_norm", &c.model.qk_norm, "RMSNorm on queries and keys per head (Qwen3)");
  s.add("model.qkv_bias", &c.model.qkv_bias, "bias on q/k/v projections (Qwen2)");
  s.add("model.dtype", &c.model.dtype, "weight/activation dtype (bfloat16 on CUDA)")
      .choices({"float32", "bfloat16"});
  s.add("model.init_std", &c.model.init_std, "std of the normal init of fresh weights")
      .range(0, 1);
  s.add("model.lora_rank", &c.model.lora_rank, "LoRA rank (0 = full fine-tuning)").range(0, 4096);
  s.add("model.lora_alpha", &c.model.lora_alpha, "LoRA alpha (scale = alpha / rank)").min(0);
  s.add("model.lora_targets", &c.model.lora_targets, "projections that get LoRA adapters")
      .choices({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"});
  s.add("model.activation_checkpointing", &c.model.activation_checkpointing,
        "recompute each layer in backward instead of storing activations");

  // sample
  s.add("sample.temperature", &c.sample.temperature, "sampling temperature (0 = greedy)")
      .range(0, 100);
  s.add("sample.top_p", &c.sample.top_p, "nucleus sampling mass").range(0, 1);
  s.add("sample.top_k", &c.sample.top_k, "keep the k most likely tokens (0 = all)").min(0);
  s.add("sample.max_new_tokens", &c.sample.max_new_tokens, "tokens generated at most")
      .range(1, 1 << 20);

  // trainer
  s.add("trainer.lr", &c.trainer.lr, "peak learning rate (AdamW)").range(0, 1);
  s.add("trainer.min_lr_ratio", &c.trainer.min_lr_ratio,
        "cosine schedule floor as a fraction of trainer.lr")
      .range(0, 1);
  s.add("trainer.warmup_steps", &c.trainer.warmup_steps, "linear warmup steps").min(0);
  s.add("trainer.weight_decay", &c.trainer.weight_decay, "AdamW decoupled weight decay")
      .range(0, 1);
  s.add("trainer.grad_clip", &c.trainer.grad_clip, "global gradient-norm clip (0 = off)").min(0);
  s.add("trainer.batch_size", &c.trainer.batch_size, "sequences per optimizer step").min(1);
  s.add("trainer.grad_accum", &c.trainer.grad_accum, "micro-batches per optimizer step").min(1);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config cfg;
  Schema schema;
  declare_options(schema, cfg);
  if (!path.empty()) schema.load_file(path);
  schema.apply_overrides(overrides);
  return cfg;
}

std::string dump_config(const Config& cfg) {
  Config copy = cfg;
  Schema schema;
  declare_options(schema, copy);
  return schema.dump();
}

std::string config_help() {
  Config cfg;
  Schema schema;
  declare_options(schema, cfg);
  return schema.help_table();
}

}  // namespace pgenrm::core
