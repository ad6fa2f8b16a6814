// Pro-n's one decode loop (scaling/scorer.h): on the trained demo reward
// model (tests/trainer/fixtures/demo_rm), whose chains write "PART 2" about
// a third of the way in, the neighbour chains join the running decode once
// a pair's analysis is written. They must give what the two loops give —
// the same analyses, prototypes, neighbours, chains and scores — in fewer
// decode steps, with Ind-m and with Ind-0.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/options.h"
#include "data/generate.h"
#include "data/io.h"
#include "model/hf_io.h"
#include "model/tokenizer.h"
#include "scaling/kmeans.h"
#include "scaling/scorer.h"
#include "trainer/rm_task.h"

namespace pgenrm::scaling {
namespace {

namespace fs = std::filesystem;

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

TEST(ProNJoin, NeighboursJoiningTheRunningDecodeGiveTheTwoLoopsChainsInFewerSteps) {
  const core::Config cfg = core::load_config(std::string(PGENRM_SOURCE_DIR) + "/configs/demo.yaml", {});
  const std::string dir = (fs::temp_directory_path() / ("pgenrm_join_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  data::generate_dir(cfg.world, cfg.data, dir);
  const data::Dataset ds = data::read_dataset(dir);
  const model::Tokenizer tok = model::Tokenizer::from_file(dir + "/tokenizer.json");
  const data::HistoryOptions hist = data::history_options(cfg.data);
  const trainer::RmTask task(ds, tok, hist, cfg.model.max_seq_len - cfg.sample.max_new_tokens);
  model::Transformer m = model::load_hf(std::string(PGENRM_SOURCE_DIR) + "/tests/trainer/fixtures/demo_rm");
  m->eval();

  // Prototypes over 60 warm users, each embedded from a text of its own.
  Embedder emb(*m, tok, task.bos(), 32);
  std::vector<std::string> ids, texts;
  for (const auto& u : ds.users)
    if (!u.cold_start && ids.size() < 60) {
      ids.push_back(u.user_id);
      texts.push_back("Persona: " + u.user_id);
    }
  KMeansOptions ko;
  ko.k = 3;
  const at::Tensor e = emb.embed(texts);
  const Prototypes protos = make_prototypes(ids, e, kmeans(e, ko).centroids);

  std::vector<size_t> pairs = ds.split_pairs(data::Split::kTest);
  pairs.resize(5);
  for (int64_t ind : {4, 0}) {
    ScaledOptions o;
    o.ind = ind;
    o.pro = 3;
    o.batch = 2;  // 3 generation calls, the last with one pair
    o.pro_batch = 4;
    o.sample.temperature = 1.0;
    o.sample.max_new_tokens = cfg.sample.max_new_tokens;
    o.history = hist;
    o.join = ScaledOptions::Join::kWhenReady;
    ScaledTiming tj, ta;
    const auto joined = ScaledScorer(*m, task, &emb, &protos, o).score(pairs, 3, &tj);
    o.join = ScaledOptions::Join::kAfterOwn;
    const auto after = ScaledScorer(*m, task, &emb, &protos, o).score(pairs, 3, &ta);
    ASSERT_EQ(joined.size(), pairs.size());
    for (size_t k = 0; k < pairs.size(); ++k) {
      SCOPED_TRACE("Ind-" + std::to_string(ind) + ", pair " + std::to_string(k));
      EXPECT_FALSE(joined[k].analysis.empty());
      EXPECT_EQ(joined[k].analysis, after[k].analysis);
      EXPECT_EQ(joined[k].prototype, after[k].prototype);
      EXPECT_EQ(joined[k].neighbours, after[k].neighbours);
      EXPECT_EQ(joined[k].neighbours.size(), 3u);
      EXPECT_EQ(joined[k].ind.valid, after[k].ind.valid);
      EXPECT_EQ(joined[k].ind.valid + joined[k].ind.invalid, ind);
      EXPECT_EQ(joined[k].pro.valid, after[k].pro.valid);
      EXPECT_EQ(joined[k].pro.valid + joined[k].pro.invalid, 3);
      EXPECT_TRUE(same(joined[k].chosen, after[k].chosen));
      EXPECT_TRUE(same(joined[k].rejected, after[k].rejected));
      EXPECT_TRUE(same(joined[k].chosen_repaired, after[k].chosen_repaired));
    }
    // The trained model's chains parse, so the comparison is of real scores.
    int valid = 0;
    for (const auto& s : joined) valid += s.pro.valid;
    EXPECT_GE(valid, 10) << "of 15 neighbour chains";
    // Same chains, counted the same way...
    EXPECT_EQ(tj.pro.generated_tokens, ta.pro.generated_tokens);
    EXPECT_EQ(tj.own.generated_tokens + tj.analysis.generated_tokens,
              ta.own.generated_tokens + ta.analysis.generated_tokens);
    EXPECT_EQ(tj.pro.calls, ta.pro.calls);
    // ...in fewer decode steps: the neighbours start about a third of the
    // way into the own chains instead of after them (with Ind-0 both start
    // them once the call's greedy analysis chains have stopped).
    std::printf("Ind-%lld/Pro-3: %lld decode steps joined, %lld in two loops\n", static_cast<long long>(ind),
                static_cast<long long>(tj.decode_steps), static_cast<long long>(ta.decode_steps));
    if (ind > 0) EXPECT_LT(tj.decode_steps, ta.decode_steps * 0.85);
    else EXPECT_LE(tj.decode_steps, ta.decode_steps);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgenrm::scaling
