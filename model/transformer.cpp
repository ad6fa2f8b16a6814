#include "model/transformer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/init.h>

#include <cmath>
#include <limits>
#include <mutex>

#include "core/error.h"

namespace pgenrm::model {

namespace {

// RoPE as Hugging Face's x·cos + rotate_half(x)·sin with rotate_half(x) =
// [-x₂, x₁]; here the sign sits in sin (rope() returns [-sin, sin]) and the
// halves swap with one roll: the same products, bit for bit, in fewer ops.
at::Tensor apply_rope(const at::Tensor& x_BHTD, const at::Tensor& cos, const at::Tensor& signed_sin) {
  return x_BHTD * cos + at::roll(x_BHTD, {x_BHTD.size(-1) / 2}, {-1}) * signed_sin;
}

}  // namespace

// ------------------------------------------------------------------ Linear --

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias, double init_std) {
  weight = register_parameter("weight", at::empty({out, in}));
  torch::nn::init::normal_(weight, 0.0, init_std);
  if (with_bias) bias = register_parameter("bias", at::zeros({out}));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = at::linear(x, weight, bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt);
  if (lora_A.defined()) y = y + at::linear(at::linear(x, lora_A), lora_B) * lora_scale;
  return y;
}

namespace {
// A bare weight, so that adapters are child modules (removable on merge)
// named like PEFT's: q_proj.lora_A.weight, q_proj.lora_B.weight.
class LoraFactorImpl : public torch::nn::Module {
 public:
  explicit LoraFactorImpl(at::Tensor w) { weight = register_parameter("weight", std::move(w)); }
  at::Tensor weight;
};
TORCH_MODULE(LoraFactor);
}  // namespace

void LinearImpl::enable_lora(int64_t rank, double alpha) {
  PGENRM_CHECK(rank > 0, "LoRA rank must be positive", "set model.lora_rank > 0");
  PGENRM_CHECK(!lora_A.defined(), "LoRA already enabled on this layer", "enable it once");
  const int64_t in = weight.size(1), out = weight.size(0);
  auto opts = weight.options();
  // As PEFT: A ~ Kaiming-uniform(a=√5), B = 0, so the adapted model starts
  // equal to the base model.
  at::Tensor a = at::empty({rank, in}, opts);
  torch::nn::init::kaiming_uniform_(a, std::sqrt(5.0));
  lora_A = register_module("lora_A", LoraFactor(a))->weight;
  lora_B = register_module("lora_B", LoraFactor(at::zeros({out, rank}, opts)))->weight;
  lora_scale = alpha / static_cast<double>(rank);
  weight.set_requires_grad(false);
  if (bias.defined()) bias.set_requires_grad(false);
}

void LinearImpl::merge_lora() {
  if (!lora_A.defined()) return;
  {
    at::NoGradGuard no_grad;
    weight.add_(at::matmul(lora_B, lora_A) * lora_scale);
  }
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = at::Tensor();
  lora_B = at::Tensor();
  weight.set_requires_grad(true);
  if (bias.defined()) bias.set_requires_grad(true);
}

// ----------------------------------------------------------------- RMSNorm --

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", at::ones({dim}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
  if (x.scalar_type() == at::kFloat && !at::GradMode::is_enabled()) {
    // fp32 without autograd (decoding): the same products in five ops, in place.
    return (x * x.pow(2).mean(-1, /*keepdim=*/true).add_(eps).rsqrt_()).mul_(weight);
  }
  // In fp32 whatever the activation dtype, then back (as Hugging Face does).
  at::Tensor xf = x.to(at::kFloat);
  xf = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * xf.to(x.scalar_type());
}

// --------------------------------------------------------------- Attention --

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : n_heads(c.n_heads), n_kv_heads(c.n_kv_heads), head_dim(c.head_dim) {
  q_proj = register_module("q_proj", Linear(c.d_model, c.n_heads * c.head_dim, c.qkv_bias, c.init_std));
  k_proj = register_module("k_proj", Linear(c.d_model, c.n_kv_heads * c.head_dim, c.qkv_bias, c.init_std));
  v_proj = register_module("v_proj", Linear(c.d_model, c.n_kv_heads * c.head_dim, c.qkv_bias, c.init_std));
  o_proj = register_module("o_proj", Linear(c.n_heads * c.head_dim, c.d_model, c.o_bias, c.init_std));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(c.head_dim, c.norm_eps));
    k_norm = register_module("k_norm", RMSNorm(c.head_dim, c.norm_eps));
  }
}

void AttentionImpl::project(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                            at::Tensor* q, at::Tensor* k, at::Tensor* v) {
  const int64_t B = x.size(0), T = x.size(1);
  at::Tensor q_ = q_proj(x).view({B, T, n_heads, head_dim});
  at::Tensor k_ = k_proj(x).view({B, T, n_kv_heads, head_dim});
  *v = v_proj(x).view({B, T, n_kv_heads, head_dim}).transpose(1, 2);
  if (q_norm) {
    q_ = q_norm(q_);
    k_ = k_norm(k_);
  }
  auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);  // [B,1,T,D]
  *q = apply_rope(q_.transpose(1, 2), c, s);         // [B,H,T,D]
  *k = apply_rope(k_.transpose(1, 2), c, s);         // [B,K,T,D]
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                  const at::Tensor& mask_BTS, at::Tensor* k_out, at::Tensor* v_out) {
  const int64_t B = x.size(0), T = x.size(1);
  at::Tensor q, k, v;
  project(x, cos, sin, &q, &k, &v);
  if (k_out) *k_out = k;
  if (v_out) *v_out = v;
  at::Tensor o = at::scaled_dot_product_attention(q, k, v, mask_BTS.unsqueeze(1), 0.0,
                                                  /*is_causal=*/false, std::nullopt,
                                                  /*enable_gqa=*/n_heads != n_kv_heads);
  return o_proj(o.transpose(1, 2).reshape({B, T, n_heads * head_dim}));
}

at::Tensor AttentionImpl::decode(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                 const std::vector<KVCache*>& caches, int64_t layer, const at::Tensor& qkv_w,
                                 const at::Tensor& qkv_b) {
  const int64_t B = x.size(0), H = n_heads, K = n_kv_heads, D = head_dim;
  at::Tensor q, k, v;
  if (qkv_w.defined()) {  // one product for q, k and v; RoPE on q and k together without QK-norm
    at::Tensor y = at::linear(x, qkv_w, qkv_b.defined() ? std::optional<at::Tensor>(qkv_b) : std::nullopt);
    v = y.narrow(-1, (H + K) * D, K * D).view({B, 1, K, D}).transpose(1, 2);
    const auto c = cos.unsqueeze(2), s = sin.unsqueeze(2);  // [B,1,1,D]
    if (q_norm) {
      q = apply_rope(q_norm(y.narrow(-1, 0, H * D).view({B, 1, H, D})), c, s).transpose(1, 2);
      k = apply_rope(k_norm(y.narrow(-1, H * D, K * D).view({B, 1, K, D})), c, s).transpose(1, 2);
    } else {
      at::Tensor qk = apply_rope(y.narrow(-1, 0, (H + K) * D).view({B, 1, H + K, D}), c, s);
      q = qk.narrow(2, 0, H).transpose(1, 2);
      k = qk.narrow(2, H, K).transpose(1, 2);
    }
  } else {
    project(x, cos, sin, &q, &k, &v);  // q [B,H,1,D], k/v [B,K,1,D]
  }
  at::Tensor o;
  if (caches.size() == 1) {
    o = attend(q, k, v, *caches[0], layer);
  } else {
    std::vector<at::Tensor> parts;
    int64_t row = 0;
    for (KVCache* c : caches) {
      const int64_t n = c->suffix_k.at(layer).size(0);
      parts.push_back(attend(q.narrow(0, row, n), k.narrow(0, row, n), v.narrow(0, row, n), *c, layer));
      row += n;
    }
    o = at::cat(parts, 0);
  }
  return o_proj(o.reshape({B, 1, H * D}));
}

at::Tensor AttentionImpl::attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, KVCache& cache,
                                 int64_t layer) {
  // Rows b = p·G + g (prompt p, sequence g). Prefix scores fold a prompt's
  // G sequences into the query rows of its K/V: order (p, k, g, r). Suffix
  // scores are per sequence: order (p, g, k, r), the rows' own order. The
  // softmax runs over both in the folded order; a dozen ops per layer.
  const int64_t B = q.size(0), G = cache.group, Bp = B / G;
  const int64_t K = n_kv_heads, R = n_heads / n_kv_heads, D = head_dim;
  const int64_t L = cache.suffix_len + 1;
  at::Tensor& SK = cache.suffix_k[layer];  // [B,K,Lmax,D]
  at::Tensor& SV = cache.suffix_v[layer];
  SK.select(2, L - 1).copy_(k.reshape({B, K, D}));
  SV.select(2, L - 1).copy_(v.reshape({B, K, D}));
  const at::Tensor& pk = cache.prefix_k[layer];  // [Bp,K,P,D], contiguous
  const at::Tensor& pv = cache.prefix_v[layer];
  const int64_t P = pk.size(2);
  const at::Tensor qs = q.reshape({B, K, R, D}) * (1.0 / std::sqrt(static_cast<double>(D)));
  const at::Tensor qf =
      G == 1 ? qs.view({Bp * K, R, D}) : qs.view({Bp, G, K, R, D}).permute({0, 2, 1, 3, 4}).reshape({Bp * K, G * R, D});
  // Prefix scores plus the padding bias (0 or -inf) in one op: [Bp·K, G·R, P].
  at::Tensor sp = at::baddbmm(cache.prefix_bias.view({Bp * K, 1, P}), qf, pk.view({Bp * K, P, D}).transpose(1, 2));
  // Suffix scores, each sequence against its own tokens: [B·K, R, L].
  at::Tensor sk = SK.narrow(2, 0, L).view({B * K, L, D}), sv = SV.narrow(2, 0, L).view({B * K, L, D});
  at::Tensor ss = at::bmm(qs.view({B * K, R, D}), sk.transpose(1, 2));
  at::Tensor scores = at::cat({sp.view({Bp, K, G, R, P}), ss.view({Bp, G, K, R, L}).permute({0, 2, 1, 3, 4})}, -1);
  at::Tensor probs = scores.scalar_type() == at::kFloat
                         ? at::softmax(scores, -1)
                         : at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());  // [Bp,K,G,R,P+L]
  at::Tensor op = at::bmm(probs.narrow(-1, 0, P).view({Bp * K, G * R, P}), pv.view({Bp * K, P, D}));
  at::Tensor ps = probs.narrow(-1, P, L).permute({0, 2, 1, 3, 4}).reshape({B * K, R, L});
  at::Tensor out = at::bmm(ps, sv).view({Bp, G, K, R, D});
  out.add_(op.view({Bp, K, G, R, D}).permute({0, 2, 1, 3, 4}));
  return out.view({B, K, R, D});
}

// --------------------------------------------------------------------- MLP --

MLPImpl::MLPImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", Linear(c.d_model, c.d_ff, c.mlp_bias, c.init_std));
  up_proj = register_module("up_proj", Linear(c.d_model, c.d_ff, c.mlp_bias, c.init_std));
  down_proj = register_module("down_proj", Linear(c.d_ff, c.d_model, c.mlp_bias, c.init_std));
}

at::Tensor MLPImpl::forward(const at::Tensor& x) {
  return down_proj(at::silu(gate_proj(x)) * up_proj(x));
}

at::Tensor MLPImpl::forward_stacked(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  at::Tensor y = at::linear(x, w, b.defined() ? std::optional<at::Tensor>(b) : std::nullopt);
  const int64_t F = w.size(0) / 2;
  at::Tensor gate = y.narrow(-1, 0, F);
  if (at::GradMode::is_enabled()) return down_proj(at::silu(gate) * y.narrow(-1, F, F));
  return down_proj(at::silu_(gate).mul_(y.narrow(-1, F, F)));  // in y's own memory
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", MLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.d_model, c.norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(c.d_model, c.norm_eps));
}

DecoderImpl::DecoderImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.d_model));
  torch::nn::init::normal_(embed_tokens->weight, 0.0, c.init_std);
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.d_model, c.norm_eps));
}

// ------------------------------------------------- activation checkpointing --

namespace {

at::Tensor layer_forward(DecoderLayerImpl& l, const at::Tensor& x, const at::Tensor& cos,
                         const at::Tensor& sin, const at::Tensor& mask, at::Tensor* k_out,
                         at::Tensor* v_out) {
  at::Tensor h = x + l.self_attn->forward(l.input_layernorm(x), cos, sin, mask, k_out, v_out);
  return h + l.mlp(l.post_attention_layernorm(h));
}

// Runs a layer without keeping its activations and recomputes them in
// backward. The layer's address travels in saved_data as an integer: the
// module outlives the backward pass that uses it.
class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor x, at::Tensor cos,
                            at::Tensor sin, at::Tensor mask, int64_t layer_addr) {
    ctx->save_for_backward({x, cos, sin, mask});
    ctx->saved_data["layer"] = layer_addr;
    at::NoGradGuard no_grad;
    auto* layer = reinterpret_cast<DecoderLayerImpl*>(layer_addr);
    return layer_forward(*layer, x, cos, sin, mask, nullptr, nullptr);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto* layer = reinterpret_cast<DecoderLayerImpl*>(ctx->saved_data["layer"].toInt());
    at::Tensor x = saved[0].detach().requires_grad_(true);
    {
      at::AutoGradMode grad_on(true);
      at::Tensor y = layer_forward(*layer, x, saved[1], saved[2], saved[3], nullptr, nullptr);
      torch::autograd::backward({y}, {grads[0]});
    }
    return {x.grad(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

// ------------------------------------------------------------- Transformer --

namespace {
std::mutex& decode_weights_mutex() {
  static std::mutex mu;
  return mu;
}
}  // namespace

TransformerImpl::TransformerImpl(const ModelConfig& c) : cfg_(c) {
  cfg_.validate();
  model = register_module("model", Decoder(c));
  if (!c.tie_embeddings)
    lm_head = register_module("lm_head", Linear(c.d_model, c.vocab_size, false, c.init_std));

  // RoPE inverse frequencies, computed in fp32 exactly as transformers does.
  const int64_t D = c.head_dim;
  at::Tensor inv = 1.0 / at::pow(c.rope_theta, at::arange(0, D, 2, at::kLong).to(at::kFloat) / D);
  if (c.rope_scaling.type == "llama3") {
    const auto& r = c.rope_scaling;
    const double low_wl = r.original_max_position / r.low_freq_factor;
    const double high_wl = r.original_max_position / r.high_freq_factor;
    at::Tensor wavelen = 2 * M_PI / inv;
    at::Tensor scaled = at::where(wavelen > low_wl, inv / r.factor, inv);
    at::Tensor smooth =
        (r.original_max_position / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
    at::Tensor smoothed = (1 - smooth) * scaled / r.factor + smooth * scaled;
    at::Tensor medium = (wavelen >= high_wl).logical_and(wavelen <= low_wl);
    inv = at::where(medium, smoothed, scaled);
  }
  inv_freq_ = register_buffer("inv_freq", inv);
}

void TransformerImpl::rope(const at::Tensor& pos, at::Tensor* cos, at::Tensor* sin) const {
  at::Tensor freqs = pos.to(at::kFloat).unsqueeze(-1) * inv_freq_;  // [..., D/2]
  at::Tensor s = freqs.sin();
  const auto dt = model->embed_tokens->weight.scalar_type();
  *cos = at::cat({freqs, freqs}, -1).cos().to(dt);
  *sin = at::cat({-s, s}, -1).to(dt);  // signed: see apply_rope
}

at::Tensor TransformerImpl::lm_head_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

at::Tensor TransformerImpl::run_layers(const at::Tensor& ids, const at::Tensor& keep_in,
                                       KVCache* cache) {
  PGENRM_CHECK(ids.dim() == 2, "token ids must be [batch, time]", "pass a 2-D int64 tensor");
  const int64_t T = ids.size(1);
  PGENRM_CHECK(T <= cfg_.max_seq_len,
               "sequence of " + std::to_string(T) + " tokens exceeds model.max_seq_len " +
                   std::to_string(cfg_.max_seq_len),
               "raise model.max_seq_len or shorten the prompt");
  at::Tensor keep = keep_in.to(at::kBool);
  // Positions count real tokens only, so left and right padding both give
  // every real token the position it would have alone.
  at::Tensor pos = (keep.to(at::kLong).cumsum(1) - 1).clamp_min(0);
  at::Tensor causal = at::ones({T, T}, keep.options()).tril();
  at::Tensor eye = at::eye(T, keep.options());
  // A padding query attends to itself only, so no row is fully masked.
  at::Tensor mask = causal.unsqueeze(0).logical_and(keep.unsqueeze(1)).logical_or(eye.unsqueeze(0));
  at::Tensor cos, sin;
  rope(pos, &cos, &sin);

  at::Tensor x = model->embed_tokens(ids);
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto& layer = *model->layers[i]->as<DecoderLayerImpl>();
    if (cache) {
      at::Tensor k, v;
      x = layer_forward(layer, x, cos, sin, mask, &k, &v);
      cache->prefix_k.push_back(k.contiguous());
      cache->prefix_v.push_back(v.contiguous());
    } else if (checkpointing_ && is_training() && at::GradMode::is_enabled()) {
      x = CheckpointedLayer::apply(x, cos, sin, mask, reinterpret_cast<int64_t>(&layer));
    } else {
      x = layer_forward(layer, x, cos, sin, mask, nullptr, nullptr);
    }
  }
  return model->norm(x);
}

at::Tensor TransformerImpl::hidden(const at::Tensor& ids, const at::Tensor& keep) {
  return run_layers(ids, keep, nullptr);
}

at::Tensor TransformerImpl::forward(const at::Tensor& ids, const at::Tensor& keep) {
  return at::linear(run_layers(ids, keep, nullptr), lm_head_weight());
}

at::Tensor TransformerImpl::prefill(const at::Tensor& ids, const at::Tensor& keep, KVCache& cache,
                                    int64_t group, int64_t max_new_tokens) {
  PGENRM_CHECK(group >= 1, "group size must be >= 1", "sample at least one chain per prompt");
  PGENRM_CHECK(ids.size(1) + max_new_tokens <= cfg_.max_seq_len,
               "prompt (" + std::to_string(ids.size(1)) + ") + max_new_tokens (" +
                   std::to_string(max_new_tokens) + ") exceeds model.max_seq_len (" +
                   std::to_string(cfg_.max_seq_len) + ")",
               "shorten the prompt, lower sample.max_new_tokens or raise model.max_seq_len");
  cache = KVCache();
  cache.group = group;
  cache.prefix_keep = keep.to(at::kBool);
  cache.prefix_len = cache.prefix_keep.to(at::kLong).sum(1);
  at::Tensor h = run_layers(ids, keep, &cache);
  const int64_t B = ids.size(0) * group;
  cache.prefix_bias = at::zeros({ids.size(0), cfg_.n_kv_heads, 1, ids.size(1)}, h.options())
                          .masked_fill(cache.prefix_keep.logical_not().view({ids.size(0), 1, 1, ids.size(1)}),
                                       -std::numeric_limits<float>::infinity());
  cache.row_pos = cache.prefix_len.repeat_interleave(group, 0);
  for (int64_t i = 0; i < cfg_.n_layers; ++i) {
    auto shape = std::vector<int64_t>{B, cfg_.n_kv_heads, max_new_tokens, cfg_.head_dim};
    cache.suffix_k.push_back(at::zeros(shape, h.options()));
    cache.suffix_v.push_back(at::zeros(shape, h.options()));
  }
  cache.suffix_len = 0;
  // Prompts are left-padded: the last column is every prompt's last token.
  return at::linear(h.select(1, ids.size(1) - 1), lm_head_weight());
}

at::Tensor TransformerImpl::decode(const at::Tensor& ids_B, KVCache& cache) {
  return decode(ids_B, std::vector<KVCache*>{&cache});
}

at::Tensor TransformerImpl::decode(const at::Tensor& ids_B, const std::vector<KVCache*>& caches) {
  PGENRM_CHECK(!caches.empty(), "decode() needs at least one KV cache", "prefill a cache first");
  std::vector<at::Tensor> positions;
  int64_t rows = 0;
  for (KVCache* c : caches) {
    PGENRM_CHECK(c->suffix_len < c->suffix_k.at(0).size(2), "KV cache is full",
                 "raise max_new_tokens given to prefill");
    positions.push_back(c->row_pos + c->suffix_len);
    rows += c->suffix_k.at(0).size(0);
  }
  PGENRM_CHECK(rows == ids_B.size(0),
               "decode() got " + std::to_string(ids_B.size(0)) + " tokens for caches holding " +
                   std::to_string(rows) + " sequences",
               "pass one token per sequence, caches in row order");
  at::Tensor pos = (positions.size() == 1 ? positions[0] : at::cat(positions, 0)).unsqueeze(1);
  at::Tensor cos, sin;
  rope(pos, &cos, &sin);  // [B,1,D]
  const DecodeWeights& w = decode_weights();
  const bool stacked = !w.qkv_w.empty();
  at::Tensor x = model->embed_tokens(ids_B.unsqueeze(1));
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto& l = *model->layers[i]->as<DecoderLayerImpl>();
    const int64_t li = static_cast<int64_t>(i);
    at::Tensor a = stacked ? l.self_attn->decode(l.input_layernorm(x), cos, sin, caches, li, w.qkv_w[i], w.qkv_b[i])
                           : l.self_attn->decode(l.input_layernorm(x), cos, sin, caches, li);
    at::Tensor h = x + a;
    at::Tensor hn = l.post_attention_layernorm(h);
    x = h + (stacked ? l.mlp->forward_stacked(hn, w.gate_up_w[i], w.gate_up_b[i]) : l.mlp(hn));
  }
  for (KVCache* c : caches) c->suffix_len += 1;
  return at::linear(model->norm(x).squeeze(1), lm_head_weight());
}

const TransformerImpl::DecodeWeights& TransformerImpl::decode_weights() {
  // Decode lanes call decode() from several threads at once: one of them
  // rebuilds, the others wait; the parameters do not change during a step.
  std::lock_guard<std::mutex> lock(decode_weights_mutex());
  std::vector<std::pair<const void*, int64_t>> now;
  bool lora = false;
  auto note = [&](LinearImpl& lin) {
    lora = lora || lin.has_lora();
    now.emplace_back(lin.weight.data_ptr(), static_cast<int64_t>(lin.weight._version()));
    if (lin.bias.defined()) now.emplace_back(lin.bias.data_ptr(), static_cast<int64_t>(lin.bias._version()));
  };
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto& l = *model->layers[i]->as<DecoderLayerImpl>();
    for (LinearImpl* lin : {l.self_attn->q_proj.get(), l.self_attn->k_proj.get(), l.self_attn->v_proj.get(),
                            l.mlp->gate_proj.get(), l.mlp->up_proj.get()})
      note(*lin);
  }
  // Stacked on CPU only, where a decode step is bound by op count (the
  // copies would cost a GPU memory for an unmeasured gain); not under LoRA.
  const bool plain = lora || !lm_head_weight().device().is_cpu();
  if (plain) now.clear();
  if (now == decode_w_.sources && (plain || !decode_w_.qkv_w.empty())) return decode_w_;
  decode_w_ = DecodeWeights();
  decode_w_.sources = now;
  if (plain) return decode_w_;  // the layers' own forward
  // The stacked bias: undefined when no part has one, zeros for a part
  // without one when another has.
  auto bias = [](std::initializer_list<const LinearImpl*> ls) {
    bool any = false;
    for (const LinearImpl* lin : ls) any = any || lin->bias.defined();
    if (!any) return at::Tensor();
    std::vector<at::Tensor> bs;
    for (const LinearImpl* lin : ls)
      bs.push_back(lin->bias.defined() ? lin->bias : at::zeros({lin->weight.size(0)}, lin->weight.options()));
    return at::cat(bs, 0);
  };
  // Ordinary tensors even when decode runs under InferenceMode (as
  // GenerationBatch does): a later decode outside it may use them.
  c10::InferenceMode not_inference(false);
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < model->layers->size(); ++i) {
    auto& l = *model->layers[i]->as<DecoderLayerImpl>();
    AttentionImpl& a = *l.self_attn;
    MLPImpl& m = *l.mlp;
    decode_w_.qkv_w.push_back(at::cat({a.q_proj->weight, a.k_proj->weight, a.v_proj->weight}, 0));
    decode_w_.qkv_b.push_back(bias({a.q_proj.get(), a.k_proj.get(), a.v_proj.get()}));
    decode_w_.gate_up_w.push_back(at::cat({m.gate_proj->weight, m.up_proj->weight}, 0));
    decode_w_.gate_up_b.push_back(bias({m.gate_proj.get(), m.up_proj.get()}));
  }
  return decode_w_;
}

void TransformerImpl::release_decode_weights() {
  std::lock_guard<std::mutex> lock(decode_weights_mutex());
  decode_w_ = DecodeWeights();
}

void TransformerImpl::enable_lora(int64_t rank, double alpha, const std::vector<std::string>& targets) {
  for (auto& item : named_modules()) {
    const std::string& name = item.key();
    auto dot = name.rfind('.');
    std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    if (std::find(targets.begin(), targets.end(), leaf) == targets.end()) continue;
    if (auto* lin = item.value()->as<LinearImpl>()) lin->enable_lora(rank, alpha);
  }
  // Everything that is not an adapter is frozen under LoRA.
  for (auto& p : named_parameters()) {
    const std::string& n = p.key();
    if (n.find("lora_") == std::string::npos) p.value().set_requires_grad(false);
  }
}

void TransformerImpl::merge_lora() {
  for (auto& m : modules())
    if (auto* lin = m->as<LinearImpl>()) lin->merge_lora();
  for (auto& p : parameters()) p.set_requires_grad(true);
}

}  // namespace pgenrm::model
