// The history-flip diagnostic (trainer/rm_eval.h, issue 11) must tell a
// scorer that ignores the user's history from one that uses it: flipping
// every preference in the history changes no verdict of the first and many
// of the second. Scorers here are crafted on a small generated PersonaWorld;
// the same function measures the trained reward model in every evaluation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <numeric>

#include "core/options.h"
#include "data/generate.h"
#include "data/io.h"
#include "data/posterior.h"
#include "data/scorers.h"
#include "model/tokenizer.h"
#include "trainer/eval_summary.h"
#include "trainer/rm_eval.h"
#include "trainer/rm_task.h"

namespace pgenrm::trainer {
namespace {

namespace fs = std::filesystem;

struct SmallWorld {
  data::Dataset ds;
  data::World world;
  std::unique_ptr<model::Tokenizer> tok;
  std::unique_ptr<RmTask> task;
  std::vector<size_t> test;
};

const SmallWorld& small_world() {
  static SmallWorld* w = [] {
    auto* s = new SmallWorld;
    // One directory per process: ctest runs each case as its own process.
    const std::string dir =
        (fs::temp_directory_path() / ("pgenrm_history_flip_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir);
    core::WorldOptions wo;
    wo.users = 300;
    wo.seed = 5;
    core::DataOptions dopt;
    dopt.posterior_particles = 32;
    data::generate_dir(wo, dopt, dir);
    s->ds = data::read_dataset(dir);
    s->world = data::read_world_json(dir + "/world.json", &s->ds);
    s->tok = std::make_unique<model::Tokenizer>(model::Tokenizer::from_file(dir + "/tokenizer.json"));
    s->task = std::make_unique<RmTask>(s->ds, *s->tok, data::history_options(dopt), 4096);
    s->test = s->ds.split_pairs(data::Split::kTest);
    return s;
  }();
  return *w;
}

HistoryScorer from_pair_scorer(const data::PairScorer& scorer, const data::Dataset& ds) {
  return [&scorer, &ds](const data::Pair& p, const data::History& h) {
    const std::vector<double> s = scorer.score(p, ds.user_of(p), h);
    return verdict_from_scores(s[0], s[1]);
  };
}

TEST(HistoryFlip, AScorerThatIgnoresTheHistoryScoresZero) {
  const SmallWorld& w = small_world();
  auto blind = data::make_non_personalised_scorer(w.world);
  const auto [share, n] = history_sensitivity(*w.task, w.test, 3, from_pair_scorer(*blind, w.ds));
  ASSERT_GE(n, 30) << "too few personalisation-critical pairs to test on";
  EXPECT_EQ(share, 0.0);
  // Stated criteria alone do not make a scorer history-aware either.
  data::Posterior post(w.world, 32);
  auto with_history = data::make_posterior_scorer(w.world, post, data::AttributeSource::kPerceived);
  HistoryScorer stated_only = [&](const data::Pair& p, const data::History&) {
    const std::vector<double> s = with_history->score(p, w.ds.user_of(p), data::History{});
    return verdict_from_scores(s[0], s[1]);
  };
  EXPECT_EQ(history_sensitivity(*w.task, w.test, 3, stated_only).first, 0.0);
}

TEST(HistoryFlip, AScorerThatUsesTheHistoryIsDetected) {
  const SmallWorld& w = small_world();
  data::Posterior post(w.world, 32);
  // The posterior from the prompt's signals: stated criteria + history.
  auto ceiling = data::make_posterior_scorer(w.world, post, data::AttributeSource::kPerceived);
  const auto [share, n] = history_sensitivity(*w.task, w.test, 3, from_pair_scorer(*ceiling, w.ds));
  ASSERT_GE(n, 30);
  EXPECT_GT(share, 0.25) << "the posterior scorer reads the history; flipping it must change verdicts";
  // A scorer that follows the history only: prefer the response whose
  // attributes move the way the history's choices moved. Flipping the
  // history reverses that direction, so nearly every verdict flips.
  HistoryScorer follower = [&](const data::Pair& p, const data::History& h) {
    std::vector<double> dir(w.world.num_criteria(), 0.0);
    for (const data::Pair* q : h) {
      const auto a = data::response_attributes(w.world, *q, 0, data::AttributeSource::kPerceived);
      const auto b = data::response_attributes(w.world, *q, 1, data::AttributeSource::kPerceived);
      for (size_t c = 0; c < dir.size(); ++c) dir[c] += a[c] - b[c];
    }
    const auto a = data::response_attributes(w.world, p, 0, data::AttributeSource::kPerceived);
    const auto b = data::response_attributes(w.world, p, 1, data::AttributeSource::kPerceived);
    double s = 0;
    for (size_t c = 0; c < dir.size(); ++c) s += dir[c] * (a[c] - b[c]);
    return verdict_from_scores(s, -s);
  };
  EXPECT_GT(history_sensitivity(*w.task, w.test, 3, follower).first, 0.9);
}

}  // namespace
}  // namespace pgenrm::trainer
