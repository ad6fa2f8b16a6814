#include "model/generate.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "core/error.h"

namespace pgenrm::model {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Sampling distribution: temperature, then top-k, then top-p. Returns
// log-probs [B,V] with -inf outside the kept set.
at::Tensor sampling_logprobs(const at::Tensor& logits_BV, const SampleParams& p) {
  at::Tensor z = logits_BV.to(at::kFloat);
  if (p.temperature > 0) z = z / p.temperature;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (p.top_k > 0 && p.top_k < z.size(-1)) {
    at::Tensor kth = std::get<0>(z.topk(p.top_k, -1)).narrow(-1, p.top_k - 1, 1);
    z = z.masked_fill(z < kth, neg_inf);
  }
  if (p.top_p < 1.0) {
    auto [sorted, idx] = z.sort(-1, /*descending=*/true);
    at::Tensor probs = at::softmax(sorted, -1);
    // Drop a token when the mass before it already reaches top_p; the most
    // likely token is always kept.
    at::Tensor before = probs.cumsum(-1) - probs;
    at::Tensor drop_sorted = before >= p.top_p;
    at::Tensor drop = at::zeros_like(drop_sorted).scatter(-1, idx, drop_sorted);
    z = z.masked_fill(drop, neg_inf);
  }
  return at::log_softmax(z, -1);
}

// Does the text of `toks` end with one of `strings`? Decodes only a tail:
// the strings are short.
bool ends_with_any(const std::vector<int64_t>& toks, size_t end, const std::vector<std::string>& strings,
                   const SampleParams& p) {
  if (strings.empty()) return false;
  std::vector<int64_t> tail(toks.begin() + (end - std::min<size_t>(end, 16)), toks.begin() + end);
  const std::string text = p.decode_fn(tail);
  for (const auto& s : strings)
    if (text.size() >= s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0) return true;
  return false;
}

}  // namespace

int64_t sampled_prefix_length(const std::vector<int64_t>& tokens, const SampleParams& p) {
  if (p.greedy_after.empty()) return static_cast<int64_t>(tokens.size());
  PGENRM_CHECK(static_cast<bool>(p.decode_fn), "greedy_after needs a decode function", "set SampleParams::decode_fn");
  for (size_t k = 1; k <= tokens.size(); ++k)
    if (ends_with_any(tokens, k, p.greedy_after, p)) return static_cast<int64_t>(k);
  return static_cast<int64_t>(tokens.size());
}

double counter_uniform(uint64_t seed, uint64_t step, uint64_t rank, uint64_t sample,
                       uint64_t position) {
  uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ step);
  h = splitmix64(h ^ rank);
  h = splitmix64(h ^ sample);
  h = splitmix64(h ^ position);
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

void left_pad(const std::vector<std::vector<int64_t>>& prompts, int64_t pad_id, at::Tensor* ids,
              at::Tensor* keep) {
  int64_t T = 0;
  for (const auto& p : prompts) T = std::max<int64_t>(T, p.size());
  const int64_t N = prompts.size();
  *ids = at::full({N, T}, pad_id, at::kLong);
  *keep = at::zeros({N, T}, at::kBool);
  auto ia = ids->accessor<int64_t, 2>();
  auto ka = keep->accessor<bool, 2>();
  for (int64_t i = 0; i < N; ++i) {
    const int64_t off = T - static_cast<int64_t>(prompts[i].size());
    for (size_t t = 0; t < prompts[i].size(); ++t) {
      ia[i][off + t] = prompts[i][t];
      ka[i][off + t] = true;
    }
  }
}

int decode_thread_count(const TransformerImpl& model, int64_t rows, const SampleParams& p) {
  const int caller = at::get_num_threads();
  if (p.decode_threads > 0) return static_cast<int>(std::min<int64_t>(p.decode_threads, caller));
  if (!model.lm_head_weight().device().is_cpu()) return caller;
  const auto& c = model.config();
  const int64_t widest = std::max({c.d_ff, c.vocab_size, c.n_heads * c.head_dim, c.d_model});
  return rows * c.d_model * widest < (int64_t{1} << 22) ? 1 : caller;
}

namespace {
// Sets the intra-op thread count for a scope and restores it after.
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : before_(at::get_num_threads()) {
    if (n != before_) at::set_num_threads(n);
  }
  ~ScopedThreads() {
    if (at::get_num_threads() != before_) at::set_num_threads(before_);
  }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int before_;
};
}  // namespace

Generation generate(TransformerImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                    int64_t group, const SampleParams& p, int64_t sample_index_base) {
  PGENRM_CHECK(!prompts.empty(), "generate() needs at least one prompt", "pass prompts");
  for (const auto& pr : prompts)
    PGENRM_CHECK(!pr.empty(), "empty prompt", "every prompt needs at least one token");
  PGENRM_CHECK((p.stop_strings.empty() && p.greedy_after.empty()) || p.decode_fn,
               "stop strings and greedy_after need a decode function", "set SampleParams::decode_fn");
  at::NoGradGuard no_grad;
  const auto device = model.lm_head_weight().device();
  at::Tensor ids, keep;
  left_pad(prompts, p.pad_id, &ids, &keep);
  const int64_t Bp = ids.size(0), B = Bp * group;

  KVCache cache;
  at::Tensor logits = model.prefill(ids.to(device), keep.to(device), cache, group, p.max_new_tokens);
  logits = logits.repeat_interleave(group, 0);  // [B,V]

  Generation out;
  out.tokens.resize(B);
  out.logprobs.resize(B);
  out.finish.assign(B, FinishReason::kLength);
  out.prompt_tokens = keep.sum().item<int64_t>();
  std::vector<char> done(B, 0), greedy(B, 0);
  int64_t n_done = 0, n_greedy = 0;
  ScopedThreads threads(decode_thread_count(model, B, p));

  for (int64_t t = 0; t < p.max_new_tokens && n_done < B; ++t) {
    at::Tensor next, lp;
    if (p.temperature <= 0) {
      at::Tensor logp = at::log_softmax(logits.to(at::kFloat), -1);
      next = logp.argmax(-1);
      lp = logp.gather(-1, next.unsqueeze(-1)).squeeze(-1);
    } else {
      at::Tensor logp = sampling_logprobs(logits, p);
      std::vector<double> u(B);
      for (int64_t b = 0; b < B; ++b)
        u[b] = counter_uniform(p.seed, p.step, p.rank, sample_index_base + b, t);
      at::Tensor cdf = logp.exp().to(at::kDouble).cumsum(-1);
      at::Tensor target = at::tensor(u, at::kDouble).to(device).unsqueeze(-1) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
      next = at::searchsorted(cdf, target).squeeze(-1).clamp_max(cdf.size(-1) - 1);
      if (n_greedy > 0) {  // rows past a greedy_after marker take the argmax
        at::Tensor g = at::zeros({B}, at::kBool);
        auto ga = g.accessor<bool, 1>();
        for (int64_t b = 0; b < B; ++b) ga[b] = greedy[b] != 0;
        next = at::where(g.to(device), logits.argmax(-1), next);
      }
      lp = logp.gather(-1, next.unsqueeze(-1)).squeeze(-1);
    }
    at::Tensor next_cpu = next.to(at::kCPU), lp_cpu = lp.to(at::kCPU);
    auto na = next_cpu.accessor<int64_t, 1>();
    auto la = lp_cpu.accessor<float, 1>();
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      out.tokens[b].push_back(na[b]);
      out.logprobs[b].push_back(la[b]);
      ++out.generated_tokens;
      const auto& toks = out.tokens[b];
      bool stop = std::find(p.stop_ids.begin(), p.stop_ids.end(), na[b]) != p.stop_ids.end();
      if (!stop) stop = ends_with_any(toks, toks.size(), p.stop_strings, p);
      if (!greedy[b] && ends_with_any(toks, toks.size(), p.greedy_after, p)) {
        greedy[b] = 1;
        ++n_greedy;
      }
      if (stop) {
        done[b] = 1;
        ++n_done;
        out.finish[b] = FinishReason::kStop;
      }
    }
    if (n_done == B || t + 1 == p.max_new_tokens) break;
    // Finished sequences keep decoding a pad token; their output is ignored.
    at::Tensor done_t = at::zeros({B}, at::kBool);
    auto da = done_t.accessor<bool, 1>();
    for (int64_t b = 0; b < B; ++b) da[b] = done[b] != 0;
    at::Tensor feed = next.masked_fill(done_t.to(device), p.pad_id);
    logits = model.decode(feed, cache);
  }
  return out;
}

at::Tensor sequence_logprobs(TransformerImpl& model, const at::Tensor& ids, const at::Tensor& keep,
                             double temperature, at::Tensor* entropy_out) {
  at::Tensor logits = model.forward(ids, keep).narrow(1, 0, ids.size(1) - 1).to(at::kFloat);
  if (temperature > 0 && temperature != 1.0) logits = logits / temperature;
  at::Tensor logp = at::log_softmax(logits, -1);
  if (entropy_out) *entropy_out = -(logp.exp() * logp).sum(-1);
  return logp.gather(-1, ids.narrow(1, 1, ids.size(1) - 1).unsqueeze(-1)).squeeze(-1);
}

at::Tensor target_logprobs(TransformerImpl& model, const at::Tensor& ids, const at::Tensor& keep,
                           const at::Tensor& mask, double temperature, at::Tensor* entropy_out) {
  const int64_t B = ids.size(0), T = ids.size(1);
  at::Tensor h = model.hidden(ids, keep).narrow(1, 0, T - 1);  // [B,T-1,C]
  at::Tensor idx = mask.reshape({-1}).ne(0).nonzero().squeeze(1);  // flat target positions
  at::Tensor hs = h.reshape({B * (T - 1), h.size(2)}).index_select(0, idx);
  at::Tensor logits = at::linear(hs, model.lm_head_weight()).to(at::kFloat);
  if (temperature > 0 && temperature != 1.0) logits = logits / temperature;
  at::Tensor logp = at::log_softmax(logits, -1);
  at::Tensor next = ids.narrow(1, 1, T - 1).reshape({-1}).index_select(0, idx);
  at::Tensor lp = logp.gather(-1, next.unsqueeze(-1)).squeeze(-1);
  auto scatter = [&](const at::Tensor& v) {
    return at::zeros({B * (T - 1)}, v.options()).index_copy(0, idx, v).view({B, T - 1});
  };
  if (entropy_out) *entropy_out = scatter(-(logp.exp() * logp).sum(-1));
  return scatter(lp);
}

}  // namespace pgenrm::model
