// Cost of test-time scaling on the reward model (docs/PERFORMANCE.md):
// no scaling (one greedy chain per pair), Ind-16, Ind-0/Pro-8, Ind-16/Pro-8,
// and the naive way to get 24 chains — 24 separately prefilled prompts with
// one chain each — on the same test pairs, with where the time goes.
//
//   bench_scaling [--data DIR] [--checkpoint DIR] [--pairs N] [--members N]
//
// Defaults: the demo world and reward model (runs/personaworld,
// runs/demo/model; `make demo` writes them). Prototypes are built on the fly
// from the first --members users (one analysis pair each, k = 6), which is
// not part of any timed row. Figures only; nothing is asserted.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

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
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--data")) data_dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--checkpoint")) ckpt = argv[i + 1];
    if (!std::strcmp(argv[i], "--pairs")) n_pairs = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--members")) n_members = std::stoul(argv[i + 1]);
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
  base.batch = cfg.eval.batch;
  base.pro_batch = cfg.eval.batch * 8;
  base.history = hist;
  std::printf("machine: %u hardware threads; %zu test pairs, batch %lld, max %lld new tokens\n",
              std::thread::hardware_concurrency(), pairs.size(), static_cast<long long>(base.batch),
              static_cast<long long>(base.sample.max_new_tokens));

  double none_s = 0;
  auto row = [&](const char* name, int64_t ind, int64_t pro) {
    scaling::ScaledOptions o = base;
    o.ind = ind;
    o.pro = pro;
    scaling::ScaledScorer s(*rm, task, &emb, &protos, o);
    scaling::ScaledTiming t;
    auto t0 = std::chrono::steady_clock::now();
    s.score(pairs, 1, &t);
    const double wall = since(t0);
    if (ind == 1 && pro == 0) none_s = wall;
    std::printf("%-14s %7.2f s  %5.2fx none | own chains %.2f, analysis %.2f, embedding %.2f, retrieval %.2f, "
                "neighbour chains %.2f\n",
                name, wall, wall / none_s, t.ind_s, t.analysis_s, t.embed_s, t.retrieval_s, t.pro_s);
  };
  row("none", 1, 0);
  row("Ind-16", 16, 0);
  row("Ind-0/Pro-8", 0, 8);
  row("Ind-16/Pro-8", 16, 8);
  // 24 chains the naive way: every chain its own prompt and prefill.
  {
    std::vector<trainer::RmPrompt> prompts;
    for (size_t i : pairs)
      for (int r = 0; r < 24; ++r) prompts.push_back(task.prompt(i, data::PromptKind::kPsi, 1));
    model::SampleParams sp = base.sample;
    sp.seed = 1;
    auto t0 = std::chrono::steady_clock::now();
    trainer::score_with_model(*rm, task, prompts, 1, sp, base.pro_batch);
    const double wall = since(t0);
    std::printf("%-14s %7.2f s  %5.2fx none (24 prompts per pair, one chain each)\n", "24 single", wall,
                wall / none_s);
  }
  return 0;
}
