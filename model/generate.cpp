#include "model/generate.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

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
  if (p.temperature > 0 && p.temperature != 1.0) z = z / p.temperature;  // / 1 is exact: skip the op
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

void pick_tokens_reference(const at::Tensor& logits, const SampleParams& p, const std::vector<int64_t>& sample_index,
                           int64_t t, const std::vector<char>& greedy, int64_t* next, float* lp) {
  const int64_t B = logits.size(0);
  const auto device = logits.device();
  at::Tensor nx, lg;
  if (p.temperature <= 0) {
    at::Tensor logp = at::log_softmax(logits.to(at::kFloat), -1);
    nx = logp.argmax(-1);
    lg = logp.gather(-1, nx.unsqueeze(-1)).squeeze(-1);
  } else {
    at::Tensor logp = sampling_logprobs(logits, p);
    std::vector<double> u(B);
    for (int64_t b = 0; b < B; ++b) u[b] = counter_uniform(p.seed, p.step, p.rank, sample_index[b], t);
    at::Tensor cdf = logp.exp().to(at::kDouble).cumsum(-1);
    at::Tensor target = at::tensor(u, at::kDouble).to(device).unsqueeze(-1) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
    nx = at::searchsorted(cdf, target).squeeze(-1).clamp_max(cdf.size(-1) - 1);
    if (std::any_of(greedy.begin(), greedy.end(), [](char c) { return c != 0; })) {
      at::Tensor gr = at::zeros({B}, at::kBool);
      auto ga = gr.accessor<bool, 1>();
      for (int64_t b = 0; b < B; ++b) ga[b] = greedy[b] != 0;
      nx = at::where(gr.to(device), logits.argmax(-1), nx);
    }
    lg = logp.gather(-1, nx.unsqueeze(-1)).squeeze(-1);
  }
  at::Tensor nc = nx.to(at::kCPU).contiguous(), lc = lg.to(at::kCPU).contiguous();
  std::copy_n(nc.data_ptr<int64_t>(), B, next);
  std::copy_n(lc.data_ptr<float>(), B, lp);
}

namespace {
// Index of the largest entry, the first one on ties; NaN counts as the
// largest (at::argmax's rule).
int64_t argmax_row(const float* x, int64_t V) {
  int64_t k = 0;
  for (int64_t v = 1; v < V && !std::isnan(x[k]); ++v)
    if (x[v] > x[k] || std::isnan(x[v])) k = v;
  return k;
}
}  // namespace

void pick_tokens(const at::Tensor& logits, const SampleParams& p, const std::vector<int64_t>& sample_index, int64_t t,
                 const std::vector<char>& greedy, int64_t* next, float* lp) {
  if (!logits.device().is_cpu() || logits.scalar_type() != at::kFloat) {
    pick_tokens_reference(logits, p, sample_index, t, greedy, next, lp);
    return;
  }
  // The reference's log-probs and exp (the same ATen kernels, so the same
  // floats), then per row the double-precision running sum (added in order,
  // as cumsum does) and the first index where it reaches u·total
  // (searchsorted's rule). Two ops instead of about fifteen per group.
  const int64_t B = logits.size(0), V = logits.size(1);
  const bool sample = p.temperature > 0;
  const at::Tensor z = logits.contiguous();
  const at::Tensor logp = (sample ? sampling_logprobs(z, p) : at::log_softmax(z, -1)).contiguous();
  const at::Tensor e = sample ? logp.exp() : at::Tensor();
  const float* Z = z.data_ptr<float>();
  const float* L = logp.data_ptr<float>();
  const float* E = sample ? e.data_ptr<float>() : nullptr;
  // Running sums of four rows at a time: four independent chains of adds
  // instead of one (a chain is bound by the add's latency).
  constexpr int64_t kRows = 4;
  std::vector<double> cdf(sample ? kRows * V : 0);
  for (int64_t b0 = 0; b0 < B; b0 += kRows) {
    const int64_t nb = std::min(kRows, B - b0);
    if (sample) {
      if (nb == kRows) {
        double c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        const float *e0 = E + b0 * V, *e1 = e0 + V, *e2 = e1 + V, *e3 = e2 + V;
        double *d0 = cdf.data(), *d1 = d0 + V, *d2 = d1 + V, *d3 = d2 + V;
        for (int64_t v = 0; v < V; ++v) {
          d0[v] = c0 += static_cast<double>(e0[v]);
          d1[v] = c1 += static_cast<double>(e1[v]);
          d2[v] = c2 += static_cast<double>(e2[v]);
          d3[v] = c3 += static_cast<double>(e3[v]);
        }
      } else {
        for (int64_t j = 0; j < nb; ++j) {
          double c = 0;
          for (int64_t v = 0; v < V; ++v) cdf[j * V + v] = c += static_cast<double>(E[(b0 + j) * V + v]);
        }
      }
    }
    for (int64_t j = 0; j < nb; ++j) {
      const int64_t b = b0 + j;
      const float* row = L + b * V;
      int64_t k;
      if (!sample) {
        k = argmax_row(row, V);
      } else if (greedy[b]) {
        k = argmax_row(Z + b * V, V);
      } else {
        const double* c = cdf.data() + j * V;
        const double target = counter_uniform(p.seed, p.step, p.rank, sample_index[b], t) * c[V - 1];
        k = std::min<int64_t>(V - 1, std::lower_bound(c, c + V, target) - c);
      }
      next[b] = k;
      lp[b] = row[k];
    }
  }
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

// Worker threads for decode lanes. Each runs its ATen ops on one intra-op
// thread, so a lane's hundreds of small ops never wake another thread; the
// lanes meet once per step. Between steps a worker spins (yielding) for
// 100 µs before it sleeps: waking a sleeping thread costs tens of
// microseconds on a VM, a fair share of a ~1 ms step (12 requests of Ind-16
// took 1.33 s without the spin, 1.15 s with 100 µs, 1.18 s with 1 ms). The
// caller waits for the workers the same way. With another job on the cores
// lanes lose (docs/PERFORMANCE.md): run.threads = 1 gives one lane.
class LanePool {
 public:
  static LanePool& instance() {
    static LanePool pool;
    return pool;
  }
  ~LanePool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  // tasks[0] on the calling thread, the others on workers; returns when all
  // have finished and rethrows the first error. One caller at a time.
  void run(std::vector<std::function<void()>>& tasks) {
    std::lock_guard<std::mutex> one_caller(run_mu_);
    const size_t n = tasks.size() - 1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (workers_.size() < n) {
        slots_.push_back(std::make_unique<Slot>());
        workers_.emplace_back([this, i = workers_.size()] { loop(i); });
      }
      for (size_t i = 0; i < slots_.size(); ++i) {
        slots_[i]->task = i < n ? &tasks[i + 1] : nullptr;
        slots_[i]->error = nullptr;
      }
      pending_.store(static_cast<int>(n));
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    std::exception_ptr error;
    try {
      tasks[0]();
    } catch (...) {
      error = std::current_exception();
    }
    while (pending_.load() > 0) std::this_thread::yield();
    for (size_t i = 0; i < n && !error; ++i) error = slots_[i]->error;
    if (error) std::rethrow_exception(error);
  }

 private:
  struct Slot {
    std::function<void()>* task = nullptr;
    std::exception_ptr error;
  };
  void loop(size_t i) {
    at::set_num_threads(1);
    c10::InferenceMode inference;
    uint64_t seen = 0;
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
      while (generation_.load() == seen && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      std::function<void()>* task = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
        if (stop_) return;
        seen = generation_.load();
        task = slots_[i]->task;
        slots_[i]->task = nullptr;
      }
      if (!task) continue;
      try {
        (*task)();
      } catch (...) {
        slots_[i]->error = std::current_exception();
      }
      pending_.fetch_sub(1);
    }
  }
  std::mutex run_mu_, mu_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> workers_;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
};

// A view of some sequences of a cache: prompts [p0, p0 + np) with all G
// sequences each, or (one prompt) its sequences [g0, g0 + ng). Writes
// through the view land in the cache.
KVCache cache_view(const KVCache& c, int64_t p0, int64_t np, int64_t g0, int64_t ng) {
  KVCache v;
  const int64_t G = c.group, row0 = p0 * G + g0, rows = np * ng;
  for (size_t l = 0; l < c.prefix_k.size(); ++l) {
    v.prefix_k.push_back(c.prefix_k[l].narrow(0, p0, np));
    v.prefix_v.push_back(c.prefix_v[l].narrow(0, p0, np));
    v.suffix_k.push_back(c.suffix_k[l].narrow(0, row0, rows));
    v.suffix_v.push_back(c.suffix_v[l].narrow(0, row0, rows));
  }
  v.prefix_keep = c.prefix_keep.narrow(0, p0, np);
  v.prefix_len = c.prefix_len.narrow(0, p0, np);
  v.prefix_bias = c.prefix_bias.narrow(0, p0, np);
  v.row_pos = c.row_pos.narrow(0, row0, rows);
  v.group = ng;
  v.suffix_len = c.suffix_len;
  return v;
}

// A cache cut into at most `parts` views of whole rows ranges: by prompts,
// or the sequences of a single prompt. Each entry: first row, view.
std::vector<std::pair<int64_t, KVCache>> split_cache(const KVCache& c, int64_t parts) {
  const int64_t Bp = c.prefix_k.at(0).size(0), G = c.group;
  std::vector<std::pair<int64_t, KVCache>> out;
  if (Bp >= 2) {
    const int64_t n = std::min(parts, Bp);
    for (int64_t i = 0, p0 = 0; i < n; ++i) {
      const int64_t np = Bp / n + (i < Bp % n ? 1 : 0);
      out.emplace_back(p0 * G, cache_view(c, p0, np, 0, G));
      p0 += np;
    }
  } else {
    const int64_t n = std::min(parts, G);
    for (int64_t i = 0, g0 = 0; i < n; ++i) {
      const int64_t ng = G / n + (i < G % n ? 1 : 0);
      out.emplace_back(g0, cache_view(c, 0, 1, g0, ng));
      g0 += ng;
    }
  }
  return out;
}

}  // namespace

int decode_lane_count(const TransformerImpl& model, int64_t rows, const SampleParams& p) {
  if (p.decode_lanes > 0) return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(p.decode_lanes, rows)));
  if (!model.lm_head_weight().device().is_cpu()) return 1;
  const int caller = at::get_num_threads();
  if (caller < 2 || rows < 2) return 1;
  // Too few rows to give every core a lane, and rows wide enough for
  // intra-op threads to pay: one lane on all threads.
  if (rows < caller && decode_thread_count(model, rows, p) != 1) return 1;
  return static_cast<int>(std::min<int64_t>(caller, rows));
}

struct GenerationBatch::Group {
  SampleParams p;
  int64_t B = 0, G = 1, t = 0, n_done = 0, n_greedy = 0;
  std::vector<int64_t> sample_index;  // per sequence
  std::vector<char> done, greedy;
  KVCache cache;
  at::Tensor logits;  // [B,V] for the next token
  Generation out;
  bool finished = false;
};

// Lanes: every group cut into up to `lanes` row ranges (cache views), each
// range to the lane with the fewest rows so far. The views stay valid while
// the same groups decode, so the layout is rebuilt only when they change.
struct GenerationBatch::Lanes {
  struct Part {
    size_t group;  // index into the step's groups
    int64_t row0, rows;
    KVCache view;
  };
  std::vector<const void*> groups;  // the groups the layout was made for, in order
  std::vector<std::vector<Part>> lane;
};

GenerationBatch::GenerationBatch(TransformerImpl& model) : model_(model) {}
GenerationBatch::~GenerationBatch() { model_.release_decode_weights(); }

size_t GenerationBatch::add(const std::vector<std::vector<int64_t>>& prompts, int64_t group, const SampleParams& p,
                            std::vector<int64_t> sample_base) {
  PGENRM_CHECK(!prompts.empty(), "generate() needs at least one prompt", "pass prompts");
  for (const auto& pr : prompts)
    PGENRM_CHECK(!pr.empty(), "empty prompt", "every prompt needs at least one token");
  PGENRM_CHECK((p.stop_strings.empty() && p.greedy_after.empty()) || p.decode_fn,
               "stop strings and greedy_after need a decode function", "set SampleParams::decode_fn");
  PGENRM_CHECK(sample_base.empty() || sample_base.size() == prompts.size(),
               "sample_base has " + std::to_string(sample_base.size()) + " entries for " +
                   std::to_string(prompts.size()) + " prompts",
               "give one sample index base per prompt, or none");
  c10::InferenceMode inference;
  auto g = std::make_unique<Group>();
  g->p = p;
  g->G = group;
  const auto device = model_.lm_head_weight().device();
  at::Tensor ids, keep;
  left_pad(prompts, p.pad_id, &ids, &keep);
  const int64_t Bp = ids.size(0);
  g->B = Bp * group;
  for (int64_t i = 0; i < Bp; ++i)
    for (int64_t k = 0; k < group; ++k)
      g->sample_index.push_back((sample_base.empty() ? i * group : sample_base[i]) + k);
  g->logits = model_.prefill(ids.to(device), keep.to(device), g->cache, group, p.max_new_tokens)
                  .repeat_interleave(group, 0);  // [B,V]
  g->out.tokens.resize(g->B);
  g->out.logprobs.resize(g->B);
  g->out.finish.assign(g->B, FinishReason::kLength);
  g->out.prompt_tokens = keep.sum().item<int64_t>();
  g->done.assign(g->B, 0);
  g->greedy.assign(g->B, 0);
  g->finished = p.max_new_tokens <= 0;
  groups_.push_back(std::move(g));
  return groups_.size() - 1;
}

bool GenerationBatch::finished(size_t id) const { return groups_.at(id)->finished; }
const Generation& GenerationBatch::result(size_t id) const { return groups_.at(id)->out; }

bool GenerationBatch::step() {
  c10::InferenceMode inference;
  const auto device = model_.lm_head_weight().device();
  // The whole step (sampling included) on the decode loop's thread count.
  int64_t live = 0;
  const SampleParams* first = nullptr;
  for (auto& gp : groups_)
    if (!gp->finished) {
      live += gp->B;
      if (!first) first = &gp->p;
    }
  if (!first) return false;
  // Lanes run on one intra-op thread each, the caller's lane included.
  const int lanes = decode_lane_count(model_, live, *first);
  ScopedThreads threads(lanes > 1 ? 1 : decode_thread_count(model_, live, *first));
  std::vector<Group*> going;
  std::vector<at::Tensor> feeds;
  int64_t rows = 0;
  for (auto& gp : groups_) {
    Group& g = *gp;
    if (g.finished) continue;
    const SampleParams& p = g.p;
    const int64_t B = g.B;
    std::vector<int64_t> next(B);
    std::vector<float> lp(B);
    pick_tokens(g.logits, p, g.sample_index, g.t, g.greedy, next.data(), lp.data());
    const int64_t* na = next.data();
    const float* la = lp.data();
    for (int64_t b = 0; b < B; ++b) {
      if (g.done[b]) continue;
      g.out.tokens[b].push_back(na[b]);
      g.out.logprobs[b].push_back(la[b]);
      ++g.out.generated_tokens;
      const auto& toks = g.out.tokens[b];
      bool stop = std::find(p.stop_ids.begin(), p.stop_ids.end(), na[b]) != p.stop_ids.end();
      if (!stop) stop = ends_with_any(toks, toks.size(), p.stop_strings, p);
      if (!g.greedy[b] && ends_with_any(toks, toks.size(), p.greedy_after, p)) {
        g.greedy[b] = 1;
        ++g.n_greedy;
      }
      if (stop) {
        g.done[b] = 1;
        ++g.n_done;
        g.out.finish[b] = FinishReason::kStop;
      }
    }
    if (g.n_done == B || g.t + 1 == p.max_new_tokens) {  // the group is complete: free its cache
      g.finished = true;
      g.cache = KVCache();
      g.logits = at::Tensor();
      continue;
    }
    ++g.t;
    // Finished sequences keep decoding a pad token; their output is ignored.
    at::Tensor feed = at::empty({B}, at::kLong);
    int64_t* fa = feed.data_ptr<int64_t>();
    for (int64_t b = 0; b < B; ++b) fa[b] = g.done[b] ? p.pad_id : na[b];
    feeds.push_back(feed.to(device));
    going.push_back(&g);
    rows += B;
  }
  if (going.empty()) return false;
  decode_rows_ += rows;
  if (lanes <= 1 || rows < 2) {
    std::vector<KVCache*> caches;
    for (Group* g : going) caches.push_back(&g->cache);
    at::Tensor logits = model_.decode(feeds.size() == 1 ? feeds[0] : at::cat(feeds, 0), caches);
    int64_t row = 0;
    for (Group* g : going) {
      g->logits = going.size() == 1 ? logits : logits.narrow(0, row, g->B);
      row += g->B;
    }
    return true;
  }
  std::vector<const void*> ids_now(going.begin(), going.end());
  if (!lanes_ || lanes_->groups != ids_now || static_cast<int>(lanes_->lane.size()) != lanes) {
    lanes_ = std::make_unique<Lanes>();
    lanes_->groups = ids_now;
    lanes_->lane.resize(lanes);
    std::vector<int64_t> load(lanes, 0);
    for (size_t gi = 0; gi < going.size(); ++gi) {
      for (auto& [row0, view] : split_cache(going[gi]->cache, lanes)) {
        const int64_t n = view.suffix_k.at(0).size(0);
        const int l = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
        load[l] += n;
        lanes_->lane[l].push_back({gi, row0, n, std::move(view)});
      }
    }
  }
  auto& lane = lanes_->lane;
  for (auto& parts : lane)
    for (auto& p : parts) p.view.suffix_len = going[p.group]->cache.suffix_len;
  std::vector<at::Tensor> lane_logits(lanes);
  std::vector<std::function<void()>> tasks;
  for (int l = 0; l < lanes; ++l) {
    if (lane[l].empty()) continue;
    tasks.emplace_back([&, l] {
      std::vector<at::Tensor> ids;
      std::vector<KVCache*> caches;
      for (Lanes::Part& p : lane[l]) {
        ids.push_back(feeds[p.group].narrow(0, p.row0, p.rows));
        caches.push_back(&p.view);
      }
      lane_logits[l] = model_.decode(ids.size() == 1 ? ids[0] : at::cat(ids, 0), caches);
    });
  }
  LanePool::instance().run(tasks);
  std::vector<std::vector<std::pair<int64_t, at::Tensor>>> pieces(going.size());
  for (int l = 0; l < lanes; ++l) {
    int64_t row = 0;
    for (const Lanes::Part& p : lane[l]) {
      pieces[p.group].emplace_back(p.row0, lane_logits[l].narrow(0, row, p.rows));
      row += p.rows;
    }
  }
  for (size_t gi = 0; gi < going.size(); ++gi) {
    auto& ps = pieces[gi];
    std::sort(ps.begin(), ps.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<at::Tensor> ts;
    for (auto& pr : ps) ts.push_back(pr.second);
    going[gi]->logits = ts.size() == 1 ? ts[0] : at::cat(ts, 0);
    going[gi]->cache.suffix_len += 1;
  }
  return true;
}

Generation generate(TransformerImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                    int64_t group, const SampleParams& p, int64_t sample_index_base) {
  GenerationBatch batch(model);
  std::vector<int64_t> base;
  for (size_t i = 0; i < prompts.size(); ++i) base.push_back(sample_index_base + static_cast<int64_t>(i) * group);
  const size_t id = batch.add(prompts, group, p, std::move(base));
  while (batch.step()) {
  }
  return batch.result(id);
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
