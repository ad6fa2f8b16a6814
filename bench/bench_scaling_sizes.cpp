// What Ind-16/Pro-8 costs against no scaling as the reward model grows
// (docs/PERFORMANCE.md, "Model size and the ≤ 3× goal"). bench_scaling
// measures the demo model, whose one-chain request is bound by per-op cost;
// a served reward model is larger, and its one-chain decode is bound by
// reading the weights. This bench replays one request's schedule — the
// shape bench_scaling measured on the demo model — on randomly initialised
// llama models of several sizes, on this machine's cores:
//   none          one prompt of P tokens, one greedy chain of C tokens;
//   Ind-16/Pro-8  the same prompt, 16 sampled chains of C tokens from its one
//                 prefill; after J steps (the user's analysis written) 8
//                 neighbour prompts of about N tokens join the decode loop,
//                 one sampled chain of C tokens each (scaling/scorer.cpp).
// No stop token: every chain has C tokens, so the schedule does not depend on
// the weights. Left out: embedding the analysis and the retrieval (1-2% of
// the row on the demo model).
//
//   bench_scaling_sizes [--sizes D:L,D:L,...] [--requests R] [--prompt P]
//                       [--chain C] [--join J] [--neighbour-prompt N] [--lanes N]
//                       [--threads N]
//
// --lanes / --threads set SampleParams::decode_lanes / decode_threads for
// both rows (default 0: the decode loop's own rules, model/generate.h).
// A size D:L is d_model D with L layers, head_dim 32 up to d_model 128 (the
// demo's 4 heads) and 64 above, half as many KV heads, the default d_ff and
// the demo's 512-token vocabulary; 128:3 is the demo model's shape. Rows run
// alternately, `R` requests each (fewer for the large sizes), twice.
// Figures only; nothing is asserted.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/util.h"
#include "core/options.h"
#include "model/factory.h"
#include "model/generate.h"

using namespace pgenrm;

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Schedule {
  int64_t prompt = 202, chain = 145, join = 45, neighbour_prompt = 215, ind = 16, pro = 8;
  int64_t lanes = 0;    // SampleParams::decode_lanes (0 = auto)
  int64_t threads = 0;  // SampleParams::decode_threads (0 = auto)
};

std::vector<int64_t> tokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> t(n);
  for (int64_t i = 0; i < n; ++i) t[i] = 4 + static_cast<int64_t>((seed * 2654435761u + i * 40503u) % (vocab - 4));
  return t;
}

model::SampleParams params(const Schedule& s, double temperature, int64_t chain, uint64_t seed) {
  model::SampleParams p;
  p.decode_lanes = s.lanes;
  p.decode_threads = s.threads;
  p.temperature = temperature;
  p.max_new_tokens = chain;
  p.seed = seed;  // no stop ids: every chain is `chain` tokens
  return p;
}

// One none request: prefill, C greedy tokens.
void none(model::TransformerImpl& m, const Schedule& s, int64_t vocab, uint64_t r) {
  model::GenerationBatch gen(m);
  gen.add({tokens(s.prompt, vocab, r)}, 1, params(s, 0, s.chain, r));
  while (gen.step()) {
  }
}

// One Ind-16/Pro-8 request: 16 chains from one prefill, the neighbours join
// after `join` steps; the neighbour prompts' lengths spread ±15% around N
// (left-padded to the longest, as the scorer's one call per request does).
// Adds the seconds spent prefilling (the two add() calls) to *prefill_s.
int64_t scaled(model::TransformerImpl& m, const Schedule& s, int64_t vocab, uint64_t r, double* prefill_s) {
  model::GenerationBatch gen(m);
  auto t0 = std::chrono::steady_clock::now();
  gen.add({tokens(s.prompt, vocab, r)}, s.ind, params(s, 1, s.chain, r));
  *prefill_s += since(t0);
  int64_t steps = 0;
  for (; steps < s.join && gen.step(); ++steps) {
  }
  std::vector<std::vector<int64_t>> theirs;
  for (int64_t j = 0; j < s.pro; ++j) {
    const int64_t n = s.neighbour_prompt + (s.pro > 1 ? (2 * j - (s.pro - 1)) * s.neighbour_prompt * 15 / 100 /
                                                            (s.pro - 1)
                                                      : 0);
    theirs.push_back(tokens(n, vocab, r * 31 + j + 1));
  }
  model::SampleParams p = params(s, 1, s.chain, r);
  p.step = 1;
  t0 = std::chrono::steady_clock::now();
  gen.add(theirs, 1, p);
  *prefill_s += since(t0);
  while (gen.step()) ++steps;
  return steps;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<int64_t, int64_t>> sizes = {{128, 3}, {256, 4}, {512, 8}, {1024, 8}};
  Schedule s;
  int64_t requests = 8;
  // Every option takes a positive whole number (--sizes: D:L pairs;
  // --lanes and --threads may be 0, auto).
  auto number = [](const std::string& opt, const std::string& v, int64_t least) {
    size_t used = 0;
    int64_t n = -1;
    try {
      n = std::stoll(v, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != v.size() || n < least)
      throw std::invalid_argument(opt + " takes a whole number >= " + std::to_string(least) + " (got '" + v + "')");
    return n;
  };
  // The numeric options: where each goes and its least value.
  const std::map<std::string, std::pair<int64_t*, int64_t>> numeric = {
      {"--requests", {&requests, 1}},        {"--prompt", {&s.prompt, 1}}, {"--chain", {&s.chain, 1}},
      {"--join", {&s.join, 0}},              {"--threads", {&s.threads, 0}}, {"--lanes", {&s.lanes, 0}},
      {"--neighbour-prompt", {&s.neighbour_prompt, 1}}};
  try {
    for (int i = 1; i < argc; i += 2) {
      const std::string a = argv[i];
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      const std::string v = argv[i + 1];
      if (a == "--sizes") {
        sizes.clear();
        for (const std::string& dl : bench::split(v, ',')) {
          const auto parts = bench::split(dl, ':');
          if (parts.size() != 2) throw std::invalid_argument("--sizes takes D:L,D:L,... (got '" + dl + "')");
          const int64_t d = number("--sizes D", parts[0], 32);
          if (d % (d <= 128 ? 32 : 64) != 0)
            throw std::invalid_argument("--sizes D must be a multiple of 32 up to 128 and of 64 above (the head "
                                        "size; got " + parts[0] + ")");
          sizes.emplace_back(d, number("--sizes L", parts[1], 1));
        }
      } else if (auto it = numeric.find(a); it != numeric.end()) {
        *it->second.first = number(a, v, it->second.second);
      } else {
        throw std::invalid_argument("unknown option " + a);
      }
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "bench_scaling_sizes: %s (see the comment at the top of bench/bench_scaling_sizes.cpp)\n",
                 e.what());
    return 2;
  }
  at::manual_seed(1);
  std::printf("machine: %u hardware threads, %d intra-op threads; schedule: prompt %lld, chain %lld, join after "
              "%lld steps, neighbour prompts ~%lld tokens\n",
              std::thread::hardware_concurrency(), at::get_num_threads(), static_cast<long long>(s.prompt),
              static_cast<long long>(s.chain), static_cast<long long>(s.join),
              static_cast<long long>(s.neighbour_prompt));

  // The machine's balance: one large fp32 matrix product, and a copy too
  // big for the caches (read + write bytes).
  {
    at::Tensor a = at::randn({2048, 2048}), b = at::randn({2048, 2048});
    at::mm(a, b);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) at::mm(a, b);
    const double gemm = 5 * 2.0 * 2048 * 2048 * 2048 / since(t0) / 1e9;
    at::Tensor x = at::randn({64 << 20}), y = at::empty_like(x);
    y.copy_(x);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) y.copy_(x);
    const double bw = 5 * 2.0 * x.numel() * 4 / since(t0) / 1e9;
    std::printf("GEMM 2048^3: %.1f GFLOP/s; copy of 256 MB: %.1f GB/s (read + write)\n", gemm, bw);
  }

  std::printf("| d_model:layers | parameters | weights MB | none ms/request | Ind-16/Pro-8 ms/request | x none "
              "(two runs) | Ind-16/Pro-8 prefill ms | decode steps |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& [d, layers] : sizes) {
    core::ModelOptions o;
    o.d_model = d;
    o.n_layers = layers;
    o.head_dim = d <= 128 ? 32 : 64;
    o.n_heads = d / o.head_dim;
    o.n_kv_heads = std::max<int64_t>(1, o.n_heads / 2);
    o.vocab_size = 512;
    o.max_seq_len = std::max(s.prompt, s.neighbour_prompt * 115 / 100 + 1) + s.chain + 1;
    model::Transformer m = model::build_model(o);
    m->eval();
    int64_t params_n = 0;
    for (const auto& p : m->parameters()) params_n += p.numel();
    // Fewer requests as the model grows: about the same work per size.
    const int64_t r_n = std::max<int64_t>(1, requests * 128 * 128 * 3 / (d * d * layers));
    double none_ms[2], big_ms[2], prefill_ms[2];
    int64_t steps = 0;
    none(*m, s, o.vocab_size, 999);  // warm-up: allocator, decode weights
    for (int run = 0; run < 2; ++run) {
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t r = 0; r < r_n; ++r) none(*m, s, o.vocab_size, r + 1);
      none_ms[run] = 1e3 * since(t0) / r_n;
      t0 = std::chrono::steady_clock::now();
      double prefill_s = 0;
      for (int64_t r = 0; r < r_n; ++r) steps = scaled(*m, s, o.vocab_size, r + 1, &prefill_s);
      big_ms[run] = 1e3 * since(t0) / r_n;
      prefill_ms[run] = 1e3 * prefill_s / r_n;
    }
    std::printf("| %lld:%lld | %.1fM | %.0f | %.0f / %.0f | %.0f / %.0f | %.2f / %.2f | %.0f / %.0f | %lld |\n",
                static_cast<long long>(d), static_cast<long long>(layers), params_n / 1e6, params_n * 4 / 1e6,
                none_ms[0], none_ms[1], big_ms[0], big_ms[1], big_ms[0] / none_ms[0], big_ms[1] / none_ms[1],
                prefill_ms[0], prefill_ms[1], static_cast<long long>(steps));
    std::fflush(stdout);
  }
  return 0;
}
