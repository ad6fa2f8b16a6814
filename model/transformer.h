// The decoder-only transformer of the Llama / Qwen2 / Qwen3 family:
// embeddings, RMSNorm, RoPE (with Llama-3.1 scaling), grouped-query
// attention, SwiGLU MLP, optional QK-norm (Qwen3) and q/k/v bias (Qwen2),
// tied or untied LM head, LoRA adapters on chosen projections.
//
// Parameter names equal Hugging Face's (model.layers.0.self_attn.q_proj.weight
// ...), so checkpoints map one to one (model/hf_io.h).
//
// Three entry points:
//   forward  — full causal forward of a padded batch (training, scoring)
//   prefill  — full forward of prompts that fills a KV cache
//   decode   — one token per sequence against the cache; G sequences may
//              share one prompt's cached prefix (no copy, no recompute)
// Sampling lives in model/generate.h; this file has no randomness but init.
//
// Shape legend: B sequences, Bp prompts (prefix rows), G = B / Bp sequences
// per prompt, T query length, P prefix length, L suffix length, H query
// heads, K kv heads, R = H / K, D head dim, C d_model, F d_ff, V vocab.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include <vector>

#include "model/model_config.h"

namespace pgenrm::model {

// A linear layer with an optional LoRA adapter: y = x Wᵀ + b + s·(x Aᵀ) Bᵀ.
class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in, int64_t out, bool bias, double init_std);
  at::Tensor forward(const at::Tensor& x);
  // Adds A (rank×in, small random) and B (out×rank, zeros) and freezes W, b.
  void enable_lora(int64_t rank, double alpha);
  // W += s·B·A; the adapter is removed and W trainable again.
  void merge_lora();
  bool has_lora() const { return lora_A.defined(); }

  at::Tensor weight, bias, lora_A, lora_B;
  double lora_scale = 0.0;
};
TORCH_MODULE(Linear);

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

// The per-layer K/V of a generation batch. The prefix (prompt) part is
// stored once per prompt; the suffix part once per sequence.
struct KVCache {
  std::vector<at::Tensor> prefix_k, prefix_v;  // [Bp, K, P, D] per layer
  at::Tensor prefix_keep;                      // [Bp, P] bool: key is not padding
  at::Tensor prefix_len;                       // [Bp] int64: real tokens per prompt
  at::Tensor prefix_bias;                      // [Bp, K, 1, P]: 0, or -inf at padding
  at::Tensor row_pos;                          // [B] int64: each sequence's prompt length
  std::vector<at::Tensor> suffix_k, suffix_v;  // [B, K, Lmax, D] per layer
  int64_t group = 1;                           // G
  int64_t suffix_len = 0;                      // filled suffix positions
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& c);
  // Full attention; mask_BTS bool (true = attend). Returns [B,T,C] and, if
  // k_out/v_out are given, the rotated keys/values [B,K,T,D].
  at::Tensor forward(const at::Tensor& x_BTC, const at::Tensor& cos_BTD, const at::Tensor& sin_BTD,
                     const at::Tensor& mask_BTS, at::Tensor* k_out, at::Tensor* v_out);
  // One new token per sequence against the caches of `layer`: the rows of
  // x are the caches' sequences one cache after the other. The projections
  // run over all rows at once, attention per cache.
  // `qkv_w`/`qkv_b`, when defined, are q/k/v_proj stacked ([Wq; Wk; Wv]):
  // one matrix product instead of three (TransformerImpl's decode weights).
  at::Tensor decode(const at::Tensor& x_B1C, const at::Tensor& cos_B1D, const at::Tensor& sin_B1D,
                    const std::vector<KVCache*>& caches, int64_t layer, const at::Tensor& qkv_w = {},
                    const at::Tensor& qkv_b = {});

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};
  int64_t n_heads, n_kv_heads, head_dim;

 private:
  void project(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor* q,
               at::Tensor* k, at::Tensor* v);
  // Attention of one cache's sequences (q [B,H,1,D], new k/v [B,K,1,D]
  // written into the cache): the output [B,K,R,D] before o_proj.
  at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, KVCache& cache,
                    int64_t layer);
};
TORCH_MODULE(Attention);

class MLPImpl : public torch::nn::Module {
 public:
  MLPImpl(const ModelConfig& c);
  at::Tensor forward(const at::Tensor& x);
  // With gate_proj and up_proj stacked ([Wg; Wu], bias likewise): one
  // matrix product instead of two.
  at::Tensor forward_stacked(const at::Tensor& x, const at::Tensor& gate_up_w, const at::Tensor& gate_up_b);
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& c);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  MLP mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

// "model.*" of the HF layout: embeddings, layers, final norm.
class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const ModelConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Decoder);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const ModelConfig& c);

  // Logits [B,T,V] for ids [B,T]; keep_BT marks real tokens (left or right
  // padding both work: positions count real tokens only).
  at::Tensor forward(const at::Tensor& ids_BT, const at::Tensor& keep_BT);
  // Final hidden states [B,T,C] (after the last norm); embeddings, scoring heads.
  at::Tensor hidden(const at::Tensor& ids_BT, const at::Tensor& keep_BT);
  // Left-padded prompts [Bp,P] → cache filled; returns last-position logits [Bp,V].
  at::Tensor prefill(const at::Tensor& ids_BpP, const at::Tensor& keep_BpP, KVCache& cache,
                     int64_t group, int64_t max_new_tokens);
  // Next-token logits [B,V] for tokens [B] at the next suffix position.
  at::Tensor decode(const at::Tensor& ids_B, KVCache& cache);
  // The same for the sequences of several caches in one forward (rows in
  // cache order; each cache keeps its own prefix, group and length). The
  // linear maps, MLP and head run once over all rows; attention per cache.
  at::Tensor decode(const at::Tensor& ids_B, const std::vector<KVCache*>& caches);

  // Frees the stacked decode weights (a copy of q/k/v and gate/up; CPU
  // only); the next decode() stacks them again. GenerationBatch calls it
  // when it ends, so the copy lives only while chains are decoded.
  void release_decode_weights();

  at::Tensor lm_head_weight() const;
  void enable_lora(int64_t rank, double alpha, const std::vector<std::string>& targets);
  void merge_lora();
  void set_activation_checkpointing(bool on) { checkpointing_ = on; }

  const ModelConfig& config() const { return cfg_; }

  Decoder model{nullptr};
  Linear lm_head{nullptr};  // null when tied

 private:
  at::Tensor run_layers(const at::Tensor& ids_BT, const at::Tensor& keep_BT,
                        KVCache* cache);
  // cos and signed sin ([-sin, sin] over the two halves) [.., D] for
  // integer positions: the factors of apply_rope.
  void rope(const at::Tensor& pos, at::Tensor* cos, at::Tensor* sin) const;

  // Stacked q/k/v and gate/up weights for decode, rebuilt when a source
  // parameter changes (its version counter or storage); empty under LoRA
  // and off the CPU (decode then runs the layers' own projections).
  struct DecodeWeights {
    std::vector<at::Tensor> qkv_w, qkv_b, gate_up_w, gate_up_b;
    std::vector<std::pair<const void*, int64_t>> sources;
  };
  const DecodeWeights& decode_weights();

  ModelConfig cfg_;
  DecodeWeights decode_w_;
  at::Tensor inv_freq_;  // [D/2] float32, Llama-3.1 scaled when configured
  bool checkpointing_ = false;
};
TORCH_MODULE(Transformer);

}  // namespace pgenrm::model
