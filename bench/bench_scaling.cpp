// Cost of test-time scaling on the reward model (docs/PERFORMANCE.md):
// no scaling (one greedy chain per pair), Ind-16, Ind-0/Pro-8, Ind-16/Pro-8,
// and the naive way to get 24 chains — 24 separately prefilled prompts with
// one chain each — on the same test pairs, with where the time goes.
//
//   bench_scaling [--data DIR] [--checkpoint DIR] [--pairs N] [--members N]
//                 [--pro-batches B1,B2,...] [--batch N] [--lanes N] [--only ROW,ROW]
//
// Defaults: the demo world and reward model (runs/personaworld,
// runs/demo/model; `make demo` writes them). Prototypes are built on the fly
// from the first --members users (one analysis pair each, k = 6), which is
// not part of any timed row. --pro-batches repeats the Ind-0/Pro-8 row with
// those neighbour prompts per generation call (default 8 × the own batch).
// --batch N scores N pairs per generation call (default eval.batch, 32:
// throughput, as `pgenrm eval` runs); --batch 1 is one request at a time,
// the latency a reward model serving single requests sees, with the 8
// neighbour prompts of the request in one call. --only runs the named rows
// (and none, the reference): e.g. --only Ind-16/Pro-8 under a profiler.
// Each row also prints what it computed per pair — prompt tokens prefilled
// and chain tokens decoded, with and without the padding a batch computes —
// and the model FLOPs of it (the cost argument of docs/PERFORMANCE.md).
// The Pro-n rows run own and neighbour chains in one decode loop; the "two
// loops" rows start the neighbours after the own chains (same chains), and
// the "all threads" rows decode as before the thread rule and the lanes
// (model/generate.h): every op on all intra-op threads.
// Figures only; nothing is asserted.
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/util.h"
#include "core/options.h"
#include "data/generate.h"
#include "data/io.h"
#include "model/factory.h"
#include "model/tokenizer.h"
#include "scaling/build.h"
#include "scaling/kmeans.h"
#include "scaling/scorer.h"
#include "trainer/rm_task.h"

using namespace pgenrm;

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "runs/personaworld", ckpt = "runs/demo/model";
  size_t n_pairs = 64, n_members = 400;
  std::vector<int64_t> pro_batches;  // extra Ind-0/Pro-8 rows with these neighbour prompts per call
  int64_t batch = 0;                 // pairs per generation call (0: eval.batch)
  int64_t lanes = 0;                 // SampleParams::decode_lanes of every row but the "all threads" ones
  std::vector<std::string> only;     // rows to run besides none (empty: all)
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data")) data_dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--checkpoint")) ckpt = argv[i + 1];
    if (!std::strcmp(argv[i], "--pairs")) n_pairs = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--members")) n_members = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--batch")) batch = std::stol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--lanes")) lanes = std::stol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--only")) only = bench::split(argv[i + 1], ',');
    if (!std::strcmp(argv[i], "--pro-batches")) {
      pro_batches.clear();
      for (const std::string& b : bench::split(argv[i + 1], ',')) pro_batches.push_back(std::stol(b));
    }
  }
  if (!std::filesystem::exists(ckpt + "/config.json") || !std::filesystem::exists(data_dir + "/pairs.jsonl")) {
    std::fprintf(stderr, "bench_scaling: needs a world (%s) and a reward model (%s); run `make demo` first\n",
                 data_dir.c_str(), ckpt.c_str());
    return 2;
  }
  core::Config cfg = core::load_config("configs/demo.yaml", {});
  data::Dataset ds = data::read_dataset(data_dir);
  model::Tokenizer tok = model::Tokenizer::from_file(data_dir + "/tokenizer.json");
  core::ModelOptions mo = cfg.model;
  mo.hf_path = ckpt;
  model::Transformer rm = model::build_model(mo);
  const data::HistoryOptions hist = data::history_options(cfg.data);
  trainer::RmTask task(ds, tok, hist, cfg.model.max_seq_len - cfg.sample.max_new_tokens);
  scaling::Embedder emb(*rm, tok, task.bos(), 64);

  auto users = scaling::member_candidates(ds);
  users.resize(std::min(users.size(), n_members));
  scaling::AnalysisOptions ao;
  ao.analysis_pairs = 1;
  ao.max_new_tokens = cfg.sample.max_new_tokens;
  auto m = scaling::member_analyses(*rm, task, emb, users, ao);
  scaling::KMeansOptions ko;
  ko.k = 6;
  scaling::Prototypes protos = scaling::make_prototypes(m.user_ids, m.emb, scaling::kmeans(m.emb, ko).centroids);

  std::vector<size_t> pairs = ds.split_pairs(data::Split::kTest);
  pairs.resize(std::min(pairs.size(), n_pairs));
  scaling::ScaledOptions base;
  base.sample.temperature = 1.0;
  base.sample.max_new_tokens = cfg.sample.max_new_tokens;
  base.batch = batch > 0 ? batch : cfg.eval.batch;
  base.pro_batch = batch > 0 ? 8 * batch : cfg.eval.batch;
  base.history = hist;
  base.sample.decode_lanes = lanes;
  std::printf("machine: %u hardware threads; %zu test pairs, batch %lld, max %lld new tokens\n",
              std::thread::hardware_concurrency(), pairs.size(), static_cast<long long>(base.batch),
              static_cast<long long>(base.sample.max_new_tokens));

  // Model FLOPs of what a generation computed (multiply-add = 2 FLOPs):
  // every prefilled or decoded position runs the layers' linear maps, every
  // sampled position the LM head, and attention costs 2·L·H·hd per score
  // entry (QKᵀ and AV). `real` counts only real tokens (no left padding, no
  // decoding of finished sequences): what any batching must compute.
  const auto& mc = rm->config();
  const double L = mc.n_layers, d = mc.d_model, H = mc.n_heads, K = mc.n_kv_heads, hd = mc.head_dim,
               ff = mc.d_ff, V = mc.vocab_size;
  const double lin = L * (d * H * hd + 2 * d * K * hd + H * hd * d + 3 * d * ff), head = d * V,
               attn = 2 * L * H * hd;
  auto gflop = [&](const scaling::TokenCount& c, bool real) {
    if (c.prompts == 0) return 0.0;
    double macs;
    if (!real) {
      macs = (c.prefill_tokens + c.decode_slots) * lin + (c.prompts + c.decode_slots) * head +
             (c.prefill_attn + c.decode_attn) * attn;
    } else {
      const double p = static_cast<double>(c.prompt_tokens) / c.prompts;         // mean prompt
      const double g = static_cast<double>(c.generated_tokens) / c.sequences;    // mean chain
      const double dec = static_cast<double>(c.generated_tokens - c.sequences);  // decode forwards
      macs = (c.prompt_tokens + dec) * lin + (c.prompts + dec) * head +
             (c.prompts * p * p + dec * (p + g / 2)) * attn;
    }
    return 2 * macs / 1e9;
  };
  auto per_pair = [&](double x) { return x / static_cast<double>(pairs.size()); };
  std::printf("model: d %lld, %lld layers, %lld heads (%lld kv) x %lld, ff %lld, vocab %lld: %.2f MFLOP per token "
              "in the layers + %.2f in the LM head\n",
              static_cast<long long>(mc.d_model), static_cast<long long>(mc.n_layers),
              static_cast<long long>(mc.n_heads), static_cast<long long>(mc.n_kv_heads),
              static_cast<long long>(mc.head_dim), static_cast<long long>(mc.d_ff),
              static_cast<long long>(mc.vocab_size), 2 * lin / 1e6, 2 * head / 1e6);

  double none_s = 0, none_gf = 0, none_real = 0;
  using Join = scaling::ScaledOptions::Join;
  auto row = [&](const char* name, int64_t ind, int64_t pro, int64_t pro_batch = 0, Join join = Join::kWhenReady,
                 bool every_thread = false) {
    const bool reference = ind == 1 && pro == 0 && !every_thread;
    if (!reference && !only.empty() && std::find(only.begin(), only.end(), name) == only.end()) return;
    scaling::ScaledOptions o = base;
    o.ind = ind;
    o.pro = pro;
    o.join = join;
    if (every_thread) {  // the decode loop as before: every op on all intra-op threads, no lanes
      o.sample.decode_threads = at::get_num_threads();
      o.sample.decode_lanes = 1;
    }
    if (pro_batch > 0) o.pro_batch = pro_batch;
    scaling::ScaledScorer s(*rm, task, &emb, &protos, o);
    scaling::ScaledTiming t;
    auto t0 = std::chrono::steady_clock::now();
    s.score(pairs, 1, &t);
    const double wall = since(t0);
    if (ind == 1 && pro == 0 && !every_thread) none_s = wall;
    if (pro == 0)
      std::printf("%-22s %7.2f s  %5.2fx none | own chains %.2f\n", name, wall, wall / none_s, t.ind_s);
    else
      std::printf("%-22s %7.2f s  %5.2fx none | prefill own %.2f, analysis %.2f, neighbours %.2f; decode %.2f "
                  "(%lld steps); embedding %.2f, retrieval %.2f\n",
                  name, wall, wall / none_s, t.ind_s, t.analysis_s, t.pro_s, t.decode_s,
                  static_cast<long long>(t.decode_steps), t.embed_s, t.retrieval_s);
    scaling::TokenCount all = t.own;
    all += t.analysis;
    all += t.pro;
    const double gf = gflop(t.own, false) + gflop(t.analysis, false) + gflop(t.pro, false);
    const double real = gflop(t.own, true) + gflop(t.analysis, true) + gflop(t.pro, true);
    if (ind == 1 && pro == 0 && !every_thread) none_gf = gf, none_real = real;
    std::printf("  per pair: prefill %.0f tokens (%.0f with padding), decode %.0f tokens (%.0f sequence-steps "
                "computed), %.3f GFLOP computed (%.2fx none), %.3f GFLOP of real tokens (%.2fx none), %.1f GFLOP/s\n",
                per_pair(all.prompt_tokens), per_pair(all.prefill_tokens), per_pair(all.generated_tokens),
                per_pair(all.decode_slots + all.sequences), per_pair(gf), gf / none_gf, per_pair(real),
                real / none_real, gf * static_cast<double>(pairs.size()) / std::max(1e-9, wall) / pairs.size());
    for (const auto& [what, c] : {std::pair<const char*, const scaling::TokenCount&>{"own", t.own},
                                  {"analysis", t.analysis}, {"neighbours", t.pro}}) {
      if (c.prompts == 0) continue;
      std::printf("    %-10s %lld calls, %.1f prompts and %.1f chains per pair; prompt %.1f tokens (padded %.1f), "
                  "chain %.1f tokens (decoded to %.1f)\n",
                  what, static_cast<long long>(c.calls), per_pair(c.prompts), per_pair(c.sequences),
                  static_cast<double>(c.prompt_tokens) / c.prompts, static_cast<double>(c.prefill_tokens) / c.prompts,
                  static_cast<double>(c.generated_tokens) / c.sequences,
                  static_cast<double>(c.decode_slots + c.sequences) / c.sequences);
    }
  };
  row("none", 1, 0);
  row("Ind-16", 16, 0);
  row("Ind-0/Pro-8", 0, 8);
  row("Ind-16/Pro-8", 16, 8);
  row("Ind-0/Pro-8 two loops", 0, 8, 0, Join::kAfterOwn);
  row("Ind-16/Pro-8 two loops", 16, 8, 0, Join::kAfterOwn);
  // The decode loop before the thread rule, lanes and the joined loop.
  if (at::get_num_threads() > 1) {
    row("none, all threads", 1, 0, 0, Join::kWhenReady, true);
    row("Ind-16, all threads", 16, 0, 0, Join::kWhenReady, true);
    row("I16/P8 2 loops, all thr", 16, 8, 0, Join::kAfterOwn, true);
  }
  for (int64_t b : pro_batches) {
    const std::string name = "Ind-0/Pro-8 b" + std::to_string(b);
    row(name.c_str(), 0, 8, b);
  }
  // 24 chains the naive way: every chain its own prompt and prefill.
  if (only.empty() || std::find(only.begin(), only.end(), "24 single") != only.end()) {
    std::vector<trainer::RmPrompt> prompts;
    for (size_t i : pairs)
      for (int r = 0; r < 24; ++r) prompts.push_back(task.prompt(i, data::PromptKind::kPsi, 1));
    model::SampleParams sp = base.sample;
    sp.seed = 1;
    auto t0 = std::chrono::steady_clock::now();
    trainer::score_with_model(*rm, task, prompts, 1, sp, batch > 0 ? 24 * batch : base.pro_batch);
    const double wall = since(t0);
    std::printf("%-22s %7.2f s  %5.2fx none (24 prompts per pair, one chain each)\n", "24 single", wall,
                wall / none_s);
  }
  return 0;
}
