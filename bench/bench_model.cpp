// Model benchmarks (issue: transformer core). Reports, never asserts:
//   - GEMM peak of this machine (fp32 matmul), measured in the same run
//   - training tokens/s and achieved GFLOP/s for two model sizes (fwd+bwd+AdamW)
//   - decode tokens/s at batch 1 and 16
//   - G=16 prefix-shared sampling vs 16 independent samples (time ratio)
//   - one decode step's token choice for 1 / 16 / 512 rows: loop vs tensor ops
// Usage: bench_model [--quick]   (prints a Markdown table and a JSON line)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/generate.h"
#include "model/transformer.h"

using namespace pgenrm::model;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double gemm_peak_gflops(int64_t n, int reps) {
  at::Tensor a = at::randn({n, n}), b = at::randn({n, n});
  at::matmul(a, b);  // warm-up
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    at::Tensor c = at::matmul(a, b);
    double s = seconds_since(t0);
    best = std::max(best, 2.0 * n * n * n / s / 1e9);
  }
  return best;
}

ModelConfig shape(int64_t d, int64_t layers, int64_t vocab) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.d_model = d;
  c.n_layers = layers;
  c.n_heads = d / 32;
  c.n_kv_heads = std::max<int64_t>(1, d / 64);
  c.head_dim = 32;
  c.d_ff = ((8 * d / 3 + 31) / 32) * 32;
  c.max_seq_len = 1024;
  return c;
}

int64_t count_params(TransformerImpl& m) {
  int64_t n = 0;
  for (auto& p : m.parameters()) n += p.numel();
  return n;
}

// A model in training mode, its AdamW and one random batch (seeded).
struct TrainSetup {
  Transformer m;
  torch::optim::AdamW opt;
  at::Tensor ids, keep;
  TrainSetup(const ModelConfig& c, int64_t batch, int64_t seq)
      : m((at::manual_seed(0), c)),  // seeded before the model initialises
        opt(m->parameters(), torch::optim::AdamWOptions(1e-4)) {
    m->train();
    ids = at::randint(0, c.vocab_size, {batch, seq}, at::kLong);
    keep = at::ones_like(ids, at::kBool);
  }
};

nlohmann::json bench_train(const ModelConfig& c, int64_t batch, int64_t seq, int steps) {
  TrainSetup t(c, batch, seq);
  Transformer& m = t.m;
  auto& opt = t.opt;
  const at::Tensor &ids = t.ids, &keep = t.keep;
  auto step = [&] {
    opt.zero_grad();
    at::Tensor lp = sequence_logprobs(*m, ids, keep);
    (-lp.mean()).backward();
    opt.step();
  };
  step();  // warm-up
  auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  double s = seconds_since(t0);
  const double tokens = static_cast<double>(batch) * seq * steps;
  const int64_t n_params = count_params(*m);
  // 6 FLOPs per parameter per token (fwd + bwd) plus attention scores/values.
  const double flops = tokens * (6.0 * n_params + 12.0 * c.n_layers * seq * c.n_heads * c.head_dim);
  return {{"d_model", c.d_model}, {"layers", c.n_layers}, {"params", n_params},
          {"batch", batch}, {"seq", seq}, {"tokens_per_s", tokens / s},
          {"gflops", flops / s / 1e9}};
}

// One SFT step (fwd + bwd + AdamW) at a PSI-like shape whose loss covers the
// last `target_share` of each sequence: the vocabulary head over every
// position (sequence_logprobs) vs only over the targets (target_logprobs).
// Alternated step by step so that load changes hit both alike.
nlohmann::json bench_sft_head(const ModelConfig& c, int64_t batch, int64_t seq, double target_share,
                              int steps) {
  TrainSetup t(c, batch, seq);
  Transformer& m = t.m;
  auto& opt = t.opt;
  const at::Tensor &ids = t.ids, &keep = t.keep;
  at::Tensor mask = at::zeros({batch, seq - 1});
  const int64_t first = static_cast<int64_t>((1.0 - target_share) * (seq - 1));
  mask.narrow(1, first, seq - 1 - first).fill_(1);
  auto step = [&](bool targets_only) {
    opt.zero_grad();
    at::Tensor lp = targets_only ? target_logprobs(*m, ids, keep, mask) : sequence_logprobs(*m, ids, keep);
    (-(lp * mask).sum() / mask.sum()).backward();
    opt.step();
  };
  step(false);
  step(true);  // warm-up
  double full = 0, targets = 0;
  for (int i = 0; i < steps; ++i) {
    auto t0 = Clock::now();
    step(false);
    full += seconds_since(t0);
    t0 = Clock::now();
    step(true);
    targets += seconds_since(t0);
  }
  return {{"batch", batch}, {"seq", seq}, {"target_share", target_share},
          {"full_head_s", full / steps}, {"target_head_s", targets / steps},
          {"speedup", full / targets}};
}

double bench_decode(TransformerImpl& m, int64_t batch, int64_t prompt_len, int64_t new_tokens) {
  std::vector<std::vector<int64_t>> prompts(batch, std::vector<int64_t>(prompt_len, 5));
  for (int64_t b = 0; b < batch; ++b) prompts[b][0] = b;  // distinct prompts
  SampleParams sp;
  sp.max_new_tokens = new_tokens;
  generate(m, prompts, 1, sp);  // warm-up
  auto t0 = Clock::now();
  Generation g = generate(m, prompts, 1, sp);
  return g.generated_tokens / seconds_since(t0);
}

std::pair<double, double> bench_prefix_sharing(TransformerImpl& m, int64_t G, int64_t prompt_len,
                                               int64_t new_tokens) {
  std::vector<int64_t> prompt(prompt_len);
  for (int64_t t = 0; t < prompt_len; ++t) prompt[t] = (t * 7) % m.config().vocab_size;
  SampleParams sp;
  sp.max_new_tokens = new_tokens;
  generate(m, {prompt}, G, sp);  // warm-up
  auto t0 = Clock::now();
  generate(m, {prompt}, G, sp);
  double shared = seconds_since(t0);
  t0 = Clock::now();
  for (int64_t g = 0; g < G; ++g) generate(m, {prompt}, 1, sp, g);
  double independent = seconds_since(t0);
  return {shared, independent};
}

// One decode step's token choice for B rows of a 512-token vocabulary,
// sampled at temperature 1: the loop the decode uses on CPU against the
// tensor-op reference (same tokens; test Sampler.PickTokens*). µs per call.
nlohmann::json bench_pick_tokens(int64_t B, int reps) {
  c10::InferenceMode inference;  // as in the decode loop, on its one thread
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  at::Tensor logits = at::randn({B, 512}) * 3;
  std::vector<int64_t> index(B), next(B);
  std::vector<float> lp(B);
  for (int64_t b = 0; b < B; ++b) index[b] = b;
  std::vector<char> greedy(B, 0);
  SampleParams p;
  double fast = 0, ref = 0;
  for (int r = 0; r < reps + 1; ++r) {  // the first round warms up
    auto t0 = Clock::now();
    pick_tokens(logits, p, index, r, greedy, next.data(), lp.data());
    if (r > 0) fast += seconds_since(t0);
    t0 = Clock::now();
    pick_tokens_reference(logits, p, index, r, greedy, next.data(), lp.data());
    if (r > 0) ref += seconds_since(t0);
  }
  at::set_num_threads(threads);
  return {{"rows", B}, {"loop_us", 1e6 * fast / reps}, {"reference_us", 1e6 * ref / reps}};
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  nlohmann::json out;
  out["threads"] = at::get_num_threads();
  out["hardware_concurrency"] = std::thread::hardware_concurrency();
  out["gemm_peak_gflops"] = gemm_peak_gflops(quick ? 512 : 1024, quick ? 3 : 10);
  const int steps = quick ? 2 : 8;
  out["train"] = {bench_train(shape(128, 3, 512), 64, 96, steps),
                  bench_train(shape(256, 4, 512), 64, 96, steps)};
  for (auto& t : out["train"])
    t["fraction_of_gemm_peak"] = t["gflops"].get<double>() / out["gemm_peak_gflops"].get<double>();

  // The demo's PSI batches: 16 x ~430 tokens, vocabulary 642, a third targets.
  out["sft_head"] = bench_sft_head(shape(128, 3, 642), 16, 432, 1.0 / 3, quick ? 3 : 10);

  at::manual_seed(0);
  Transformer m(shape(128, 3, 512));
  m->eval();
  const int64_t new_tokens = quick ? 16 : 64;
  out["decode_tokens_per_s"] = {{"batch_1", bench_decode(*m, 1, 64, new_tokens)},
                                {"batch_16", bench_decode(*m, 16, 64, new_tokens)}};
  auto [shared, indep] = bench_prefix_sharing(*m, 16, quick ? 128 : 512, new_tokens);
  out["prefix_sharing_g16"] = {{"prompt_tokens", quick ? 128 : 512}, {"new_tokens", new_tokens},
                               {"shared_s", shared}, {"independent_s", indep},
                               {"independent_over_shared", indep / shared}};

  out["pick_tokens"] = {bench_pick_tokens(1, quick ? 200 : 2000), bench_pick_tokens(16, quick ? 200 : 2000),
                        bench_pick_tokens(512, quick ? 20 : 200)};

  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| GEMM peak (fp32) | %.1f GFLOP/s |\n", out["gemm_peak_gflops"].get<double>());
  for (auto& t : out["train"])
    std::printf("| train d%lld L%lld (%.2fM params) | %.0f tok/s, %.1f GFLOP/s (%.0f%% of peak) |\n",
                (long long)t["d_model"].get<int64_t>(), (long long)t["layers"].get<int64_t>(),
                t["params"].get<int64_t>() / 1e6, t["tokens_per_s"].get<double>(),
                t["gflops"].get<double>(), 100 * t["fraction_of_gemm_peak"].get<double>());
  std::printf("| SFT step, head on all positions vs targets only (%lld x %lld, 1/3 targets) | %.3f s vs %.3f s (%.2fx) |\n",
              (long long)out["sft_head"]["batch"].get<int64_t>(), (long long)out["sft_head"]["seq"].get<int64_t>(),
              out["sft_head"]["full_head_s"].get<double>(), out["sft_head"]["target_head_s"].get<double>(),
              out["sft_head"]["speedup"].get<double>());
  std::printf("| decode batch 1 / 16 | %.0f / %.0f tok/s |\n",
              out["decode_tokens_per_s"]["batch_1"].get<double>(),
              out["decode_tokens_per_s"]["batch_16"].get<double>());
  std::printf("| G=16 prefix-shared vs 16 independent | %.3f s vs %.3f s (%.1fx) |\n", shared, indep,
              indep / shared);
  for (auto& k : out["pick_tokens"])
    std::printf("| next tokens of %lld rows (temperature 1): loop vs tensor ops | %.1f us vs %.1f us |\n",
                (long long)k["rows"].get<int64_t>(), k["loop_us"].get<double>(), k["reference_us"].get<double>());
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
