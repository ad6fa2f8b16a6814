// The teacher: chains parse, rejection sampling keeps only chains that
// prefer the labelled response, and its weights follow what the prompt
// supports (the history posterior), not a flat prior.
#include <gtest/gtest.h>

#include <cmath>

#include "chain/parse.h"
#include "chain/render.h"
#include "core/error.h"
#include "data/generate.h"
#include "data/personaworld.h"
#include "data/posterior.h"
#include "data/teacher.h"
#include "tests/data/helpers.h"

namespace pgenrm::data {
namespace {

class TeacherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_ = new GeneratedWorld(generate_world(testing::small_world(300, 31)));
    post_ = new Posterior(g_->world, 128);
  }
  static void TearDownTestSuite() {
    delete post_;
    delete g_;
  }
  static GeneratedWorld* g_;
  static Posterior* post_;
};
GeneratedWorld* TeacherTest::g_ = nullptr;
Posterior* TeacherTest::post_ = nullptr;

TEST_F(TeacherTest, KeptChainsParseAndPreferTheLabelledChosen) {
  const Teacher teacher(g_->world, *post_, TeacherOptions{});
  const TeacherRun run = run_teacher(g_->world, g_->dataset, teacher, HistoryOptions{}, 31);
  ASSERT_GT(run.stats.pairs, 1000);
  EXPECT_EQ(run.stats.kept, static_cast<int64_t>(run.records.size()));
  EXPECT_EQ(run.stats.kept_parse_ok, run.stats.kept);
  EXPECT_GT(run.stats.coverage(),
            run.stats.accuracy_before());  // filtering kept more than one draw would
  EXPECT_GT(run.stats.accuracy_before(), 0.6);
  EXPECT_LT(run.stats.accuracy_before(), 0.95);  // realistic error before filtering
  for (const TeacherRecord& r : run.records) {
    const auto parsed = chain::parse(r.chain, 2);
    ASSERT_TRUE(parsed.ok()) << chain::error_code_name(parsed.error) << ": " << parsed.message
                             << "\n"
                             << r.chain;
    const auto scores = chain::extract_scores(parsed);
    ASSERT_TRUE(scores.has_value());
    // Prompt order → original order: order[k] is the original index shown at k.
    std::vector<double> original(2);
    for (int k = 0; k < 2; ++k) original[r.order[k]] = (*scores)[k];
    EXPECT_GT(original[0], original[1]) << r.pair_id;
    const auto& c = parsed.chain->criteria;
    EXPECT_GE(c.size(), 3u);
    EXPECT_LE(c.size(), 4u);
    EXPECT_LE(r.draws, 4);
  }
}

// A record's prompt is the one its chain was written for: same history,
// same response order.
TEST_F(TeacherTest, RecordPromptRebuildsTheTeachersPrompt) {
  const Teacher teacher(g_->world, *post_, TeacherOptions{});
  const HistoryOptions hopts;
  const TeacherRun run = run_teacher(g_->world, g_->dataset, teacher, hopts, 5);
  ASSERT_FALSE(run.records.empty());
  for (size_t i = 0; i < run.records.size(); i += 97) {
    const TeacherRecord& r = run.records[i];
    const Pair& p = g_->dataset.pairs[g_->dataset.pair_index(r.pair_id)];
    const History h = sample_history(g_->dataset, p, hopts, 5);
    EXPECT_EQ(teacher_prompt(g_->dataset, r),
              render_prompt(PromptKind::kPsi, g_->dataset.user_of(p), h, p,
                            response_order(5, p.pair_id)));
    EXPECT_EQ(teacher_prompt(g_->dataset, r, PromptKind::kCre).find("Stated criteria"),
              std::string::npos);
  }
}

TEST_F(TeacherTest, TemperatureZeroIsThePosteriorMeanAndTotalsAreRecomputed) {
  const Teacher teacher(g_->world, *post_, TeacherOptions{.temperature = 0.0});
  const Pair& p = g_->dataset.pairs[7];
  const History h = sample_history(g_->dataset, p, {}, 1);
  const TeacherDraw a = teacher.draw(p, g_->dataset.user_of(p), h, {0, 1}, 1);
  const TeacherDraw b = teacher.draw(p, g_->dataset.user_of(p), h, {0, 1}, 2);
  EXPECT_EQ(a.chain.criteria, b.chain.criteria);  // no noise at temperature 0
  const auto totals = chain::recompute_totals(a.chain);
  EXPECT_DOUBLE_EQ(totals[0], a.totals[0]);
  EXPECT_DOUBLE_EQ(totals[1], a.totals[1]);
  int sum = 0;
  for (const auto& c : a.chain.criteria) sum += c.weight;
  EXPECT_EQ(sum, 100);
  const auto perceived = perceive_attributes(g_->world, p.chosen);
  for (size_t k = 0; k < a.chain.criteria.size(); ++k)
    EXPECT_EQ(a.chain.scores[0][k],
              std::lround(perceived[g_->world.criterion_index(a.chain.criteria[k].name)]));
}

// The chain's weights (as a vector over all criteria) are closer to the
// posterior mean than to the uniform vector: the teacher teaches what the
// history and stated criteria imply.
TEST_F(TeacherTest, WeightsFollowThePosteriorNotAFlatPrior) {
  const Teacher teacher(g_->world, *post_, TeacherOptions{});
  const int d = g_->world.num_criteria();
  double to_post = 0, to_uniform = 0;
  int64_t n = 0;
  for (const Pair& p : g_->dataset.pairs) {
    if (p.split != Split::kTest) continue;
    const User& u = g_->dataset.user_of(p);
    const History h = sample_history(g_->dataset, p, {}, 1);
    const auto draw = teacher.draw(p, u, h, {0, 1}, teacher_stream(1, p.pair_id, 0));
    std::vector<double> w(d, 0.0);
    for (const auto& c : draw.chain.criteria)
      w[g_->world.criterion_index(c.name)] = c.weight / 100.0;
    const auto mass = post_->mass(gather_evidence(g_->world, u, h, AttributeSource::kPerceived));
    const auto pw = post_->mean_scenario_weights(mass, g_->world.scenario_index(p.scenario));
    for (int c = 0; c < d; ++c) {
      to_post += std::abs(w[c] - pw[c]);
      to_uniform += std::abs(w[c] - 1.0 / d);
    }
    ++n;
  }
  ASSERT_GT(n, 500);
  EXPECT_LT(to_post / n, 0.8 * to_uniform / n)
      << "L1 to posterior " << to_post / n << ", to uniform " << to_uniform / n;
}

// A teacher that reads the history changes its criteria when every history
// preference is flipped (DESIGN.md §5's standing diagnostic, on the teacher).
TEST_F(TeacherTest, FlippingTheHistoryChangesTheTeachersWeights) {
  const Teacher teacher(g_->world, *post_, TeacherOptions{.temperature = 0.0});
  int64_t changed = 0, n = 0;
  for (const Pair& p : g_->dataset.pairs) {
    const User& u = g_->dataset.user_of(p);
    if (p.split != Split::kTest || u.cold_start || u.has_stated_criteria()) continue;
    const History h = sample_history(g_->dataset, p, {}, 1);
    std::vector<Pair> flipped;
    for (const Pair* x : h) {
      Pair f = *x;
      std::swap(f.chosen, f.rejected);
      flipped.push_back(f);
    }
    History hf;
    for (const Pair& f : flipped) hf.push_back(&f);
    const auto a = teacher.draw(p, u, h, {0, 1}, 0), b = teacher.draw(p, u, hf, {0, 1}, 0);
    changed += a.chain.criteria != b.chain.criteria;
    ++n;
  }
  ASSERT_GT(n, 100);
  EXPECT_GT(double(changed) / double(n), 0.8);
}

}  // namespace
}  // namespace pgenrm::data
