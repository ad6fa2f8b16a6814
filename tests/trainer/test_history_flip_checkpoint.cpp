// The history-flip diagnostic on a trained checkpoint (issue 11): the demo
// reward model (tests/trainer/fixtures/demo_rm: configs/demo.yaml, training
// seed 1234, 2.5 MB) on the demo world regenerated here (seeded, ~10 s).
//   - as trained, flipping every preference in the user's history changes
//     the greedy verdict on a clear share of personalisation-critical pairs
//   - the same checkpoint made blind to the history (its prompt always
//     carries an empty history) changes none
// Both go through history_sensitivity(), the function every evaluation uses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "core/options.h"
#include "data/generate.h"
#include "data/io.h"
#include "model/hf_io.h"
#include "model/tokenizer.h"
#include "trainer/rm_eval.h"
#include "trainer/rm_task.h"

namespace pgenrm::trainer {
namespace {

namespace fs = std::filesystem;

TEST(HistoryFlipCheckpoint, TrainedModelUsesTheHistoryAndABlindedOneDoesNot) {
  const core::Config cfg = core::load_config(std::string(PGENRM_SOURCE_DIR) + "/configs/demo.yaml", {});
  const std::string dir =
      (fs::temp_directory_path() / ("pgenrm_flip_ckpt_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  data::generate_dir(cfg.world, cfg.data, dir);
  const data::Dataset ds = data::read_dataset(dir);
  const model::Tokenizer tok = model::Tokenizer::from_file(dir + "/tokenizer.json");
  const RmTask task(ds, tok, data::history_options(cfg.data), cfg.model.max_seq_len);
  model::Transformer m = model::load_hf(std::string(PGENRM_SOURCE_DIR) + "/tests/trainer/fixtures/demo_rm");
  m->eval();

  // 300 test pairs (~100 personalisation-critical), one seed.
  std::vector<size_t> pairs = ds.split_pairs(data::Split::kTest);
  pairs.resize(std::min<size_t>(pairs.size(), 300));
  const uint64_t seed = 11;
  model::SampleParams greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = cfg.sample.max_new_tokens;
  greedy.stop_ids = {task.eos()};
  greedy.pad_id = task.pad();

  // Verdicts of every prompt either scorer will ask for, computed in
  // batches; the scorers then look them up by prompt.
  std::map<std::vector<int64_t>, Verdict> verdicts;
  auto precompute = [&](bool blind) {
    std::vector<RmPrompt> prompts;
    for (size_t i : pairs) {
      if (!ds.pairs[i].hard_negative) continue;
      const data::History h = task.history(i, seed);
      if (h.empty()) continue;
      const data::FlippedHistory f = data::flip_history(h);
      const data::History fv = f.view(), none;
      prompts.push_back(task.prompt(i, data::PromptKind::kPsi, seed, blind ? &none : &h));
      if (!blind) prompts.push_back(task.prompt(i, data::PromptKind::kPsi, seed, &fv));
    }
    const auto scores = score_with_model(*m, task, prompts, 1, greedy, 32);
    for (size_t k = 0; k < prompts.size(); ++k)
      verdicts[prompts[k].ids] = verdict_from_scores(scores[k].chosen, scores[k].rejected);
  };
  auto scorer = [&](bool blind) -> HistoryScorer {
    return [&, blind](const data::Pair& p, const data::History& h) {
      const data::History none;
      const RmPrompt pr = task.prompt(ds.pair_index(p.pair_id), data::PromptKind::kPsi, seed, blind ? &none : &h);
      return verdicts.at(pr.ids);
    };
  };
  precompute(false);
  precompute(true);

  const auto [used, n] = history_sensitivity(task, pairs, seed, scorer(false));
  const auto [blind, nb] = history_sensitivity(task, pairs, seed, scorer(true));
  std::printf("history sensitivity of the demo checkpoint: %.3f over %lld critical pairs; blinded: %.3f\n", used,
              static_cast<long long>(n), blind);
  ASSERT_GE(n, 60) << "too few personalisation-critical pairs";
  EXPECT_EQ(nb, n);
  EXPECT_GT(used, 0.08) << "the trained model's verdicts do not move with the history";
  EXPECT_EQ(blind, 0.0) << "a scorer that cannot see the history must score 0";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pgenrm::trainer
