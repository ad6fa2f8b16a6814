// Ind-m / Pro-n scoring: the aggregation rules, Ind-m with identical chains
// equals Ind-1, neighbour histories, and the whole scorer on a tiny model
// (chain counts, neighbours excluding the user, Ind-0).
#include <gtest/gtest.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "chain/render.h"
#include "core/error.h"
#include "data/generate.h"
#include "data/io.h"
#include "model/tokenizer.h"
#include "model/transformer.h"
#include "scaling/kmeans.h"
#include "scaling/scorer.h"
#include "trainer/rm_task.h"

using namespace pgenrm;
using namespace pgenrm::scaling;

namespace {

trainer::ReadChain chain_with(std::optional<std::vector<double>> scores,
                              std::optional<std::vector<double>> repaired = std::nullopt) {
  trainer::ReadChain c;
  c.scores = scores;
  c.repaired = repaired ? repaired : scores;
  return c;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

// A small PersonaWorld and a freshly seeded tiny decoder over its tokenizer.
struct Tiny {
  data::Dataset ds;
  std::unique_ptr<model::Tokenizer> tok;
  std::unique_ptr<trainer::RmTask> task;
  model::Transformer m{nullptr};
  data::HistoryOptions hist;
  Tiny() {
    // One directory per process: ctest runs each case as its own process,
    // in parallel, and a shared directory would be removed under a reader.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("pgenrm_scaling_tiny_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    core::WorldOptions wo;
    wo.users = 120;
    wo.seed = 5;
    core::DataOptions dopt;
    dopt.posterior_particles = 16;
    data::generate_dir(wo, dopt, dir.string());
    ds = data::read_dataset(dir.string());
    tok = std::make_unique<model::Tokenizer>(model::Tokenizer::from_file((dir / "tokenizer.json").string()));
    hist = data::history_options(dopt);
    task = std::make_unique<trainer::RmTask>(ds, *tok, hist, 512 - 24);
    model::ModelConfig c;
    c.vocab_size = tok->vocab_size();
    c.d_model = 32;
    c.n_layers = 1;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.head_dim = 16;
    c.d_ff = 64;
    c.max_seq_len = 512;
    at::manual_seed(3);
    m = model::Transformer(c);
  }
  std::vector<size_t> test_pairs(size_t n) const {
    auto t = ds.split_pairs(data::Split::kTest);
    t.resize(std::min(n, t.size()));
    return t;
  }
};

Tiny& tiny() {
  static Tiny t;
  return t;
}

}  // namespace

TEST(Aggregate, MeanOverValidChainsInvalidCounted) {
  auto a = chain_with(std::vector<double>{7.0, 5.0}), b = chain_with(std::vector<double>{6.0, 8.0});
  auto bad = chain_with(std::nullopt, std::vector<double>{1.0, 2.0});
  ChainMean m = mean_of_chains({&a, &b, &bad});
  EXPECT_EQ(m.valid, 2);
  EXPECT_EQ(m.invalid, 1);
  EXPECT_DOUBLE_EQ(m.chosen, 6.5);
  EXPECT_DOUBLE_EQ(m.rejected, 6.5);
  EXPECT_EQ(m.repaired, 3);
  EXPECT_DOUBLE_EQ(m.chosen_repaired, 14.0 / 3);
  ChainMean none = mean_of_chains({&bad});
  EXPECT_TRUE(std::isnan(none.chosen));
}

TEST(Aggregate, IndMOfIdenticalChainsEqualsIndOne) {
  auto a = chain_with(std::vector<double>{7.3, 5.1});
  auto bad = chain_with(std::nullopt);
  for (const auto* c : {&a, &bad}) {
    ChainMean one = mean_of_chains({c});
    ChainMean many = mean_of_chains({c, c, c, c, c, c, c, c});
    EXPECT_EQ(std::isnan(one.chosen), std::isnan(many.chosen));
    if (!std::isnan(one.chosen)) {
      EXPECT_NEAR(one.chosen, many.chosen, 1e-12);
      EXPECT_NEAR(one.rejected, many.rejected, 1e-12);
    }
    EXPECT_EQ(many.valid + many.invalid, 8);
    EXPECT_EQ(many.valid, 8 * one.valid);
  }
}

TEST(Aggregate, CombineWeightsBothSidesAndFallsBackToTheOneThatExists) {
  EXPECT_DOUBLE_EQ(combine(8, true, 4, true, 0.5, 0.5), 6.0);
  EXPECT_DOUBLE_EQ(combine(8, true, 4, true, 0.75, 0.25), 7.0);
  EXPECT_DOUBLE_EQ(combine(8, true, std::nan(""), false, 0.5, 0.5), 8.0);
  EXPECT_DOUBLE_EQ(combine(std::nan(""), false, 4, true, 0.5, 0.5), 4.0);  // Ind-0
  EXPECT_TRUE(std::isnan(combine(1, false, 2, false, 0.5, 0.5)));
}

// Ind-m from one prefill with every chain drawn from the same stream (the
// greedy stream) gives m copies of the Ind-1 chain and the same score.
TEST(IndM, IdenticalStreamsFromOnePrefillEqualIndOne) {
  Tiny& t = tiny();
  std::vector<trainer::RmPrompt> prompts;
  for (size_t i : t.test_pairs(3)) prompts.push_back(t.task->prompt(i, data::PromptKind::kPsi, 1));
  model::SampleParams sp;
  sp.temperature = 0;
  sp.max_new_tokens = 24;
  auto one = trainer::score_with_model(*t.m, *t.task, prompts, 1, sp, 8);
  auto many = trainer::score_with_model(*t.m, *t.task, prompts, 6, sp, 8);
  for (size_t k = 0; k < prompts.size(); ++k) {
    ASSERT_EQ(many[k].chains.size(), 6u);
    for (const auto& c : many[k].chains) EXPECT_EQ(c.text, one[k].chains[0].text);
    EXPECT_TRUE(same(many[k].chosen, one[k].chosen));
    EXPECT_TRUE(same(many[k].rejected, one[k].rejected));
    EXPECT_EQ(many[k].valid + many[k].invalid, 6);
  }
}

TEST(ProN, NeighbourHistoryIsTheNeighboursOwnPairs) {
  Tiny& t = tiny();
  const data::Pair& p = t.ds.pairs[t.test_pairs(1).front()];
  std::string other;
  for (const auto& u : t.ds.users)
    if (u.user_id != p.user_id && !u.cold_start) {
      other = u.user_id;
      break;
    }
  data::History h = neighbour_history(t.ds, p, other, t.hist, 9);
  ASSERT_FALSE(h.empty());
  EXPECT_LE(static_cast<int64_t>(h.size()), t.hist.h);
  for (const auto* q : h) {
    EXPECT_EQ(q->user_id, other);
    EXPECT_NE(q->pair_id, p.pair_id);
    EXPECT_NE(q->split, data::Split::kTest);
  }
  data::History again = neighbour_history(t.ds, p, other, t.hist, 9);
  EXPECT_EQ(h, again);
  EXPECT_THROW(neighbour_history(t.ds, p, "nobody", t.hist, 9), pgenrm::Error);
}

TEST(ProN, ScorerUsesNNeighboursOtherThanTheUserAndSupportsIndZero) {
  Tiny& t = tiny();
  Embedder emb(*t.m, *t.tok, t.task->bos(), 16);
  // Members: every warm user, embedded from a text of its own.
  std::vector<std::string> ids, texts;
  for (const auto& u : t.ds.users)
    if (!u.cold_start) {
      ids.push_back(u.user_id);
      texts.push_back("Persona: " + u.user_id);
    }
  at::Tensor e = emb.embed(texts);
  EXPECT_NEAR(e.norm(2, 1).min().item<float>(), 1.0f, 1e-4);
  KMeansOptions ko;
  ko.k = 3;
  Prototypes protos = make_prototypes(ids, e, kmeans(e, ko).centroids);
  ScaledOptions o;
  o.ind = 2;
  o.pro = 3;
  o.sample.temperature = 1.0;
  o.sample.max_new_tokens = 16;
  o.history = t.hist;
  const auto pairs = t.test_pairs(4);
  ScaledScorer s(*t.m, *t.task, &emb, &protos, o);
  ScaledTiming timing;
  auto out = s.score(pairs, 1, &timing);
  ASSERT_EQ(out.size(), pairs.size());
  for (size_t k = 0; k < out.size(); ++k) {
    EXPECT_EQ(out[k].ind.valid + out[k].ind.invalid, 2);
    EXPECT_EQ(out[k].pro.valid + out[k].pro.invalid, 3);
    ASSERT_EQ(out[k].neighbours.size(), 3u);
    for (const auto& n : out[k].neighbours) EXPECT_NE(n, t.ds.pairs[pairs[k]].user_id);
    EXPECT_GE(out[k].prototype, 0);
  }
  EXPECT_GT(timing.pro_s, 0);
  // Seeded: the same call gives the same neighbours.
  auto again = s.score(pairs, 1);
  for (size_t k = 0; k < out.size(); ++k) EXPECT_EQ(again[k].neighbours, out[k].neighbours);
  // What was generated is counted: 2 own chains from one prompt per pair,
  // one chain per neighbour prompt.
  EXPECT_EQ(timing.own.prompts, 4);
  EXPECT_EQ(timing.own.sequences, 8);
  EXPECT_EQ(timing.pro.prompts, 12);
  EXPECT_EQ(timing.pro.sequences, 12);
  EXPECT_GT(timing.pro.generated_tokens, 0);
  // Neighbour prompts per call change the batching, not the chains (the
  // sampling streams are indexed by prompt, not by position in a call).
  ScaledOptions o1 = o;
  o1.pro_batch = 1;
  ScaledTiming one;
  auto single = ScaledScorer(*t.m, *t.task, &emb, &protos, o1).score(pairs, 1, &one);
  EXPECT_EQ(one.pro.calls, 12);
  EXPECT_EQ(one.pro.generated_tokens, timing.pro.generated_tokens);
  for (size_t k = 0; k < out.size(); ++k) {
    EXPECT_EQ(single[k].neighbours, out[k].neighbours);
    EXPECT_EQ(single[k].pro.valid, out[k].pro.valid);
    EXPECT_TRUE(same(single[k].chosen_repaired, out[k].chosen_repaired));
  }

  o.ind = 0;
  ScaledScorer s0(*t.m, *t.task, &emb, &protos, o);
  auto zero = s0.score(pairs, 1, &timing);
  for (const auto& z : zero) {
    EXPECT_EQ(z.ind.valid + z.ind.invalid, 0);
    EXPECT_EQ(z.pro.valid + z.pro.invalid, 3);
  }
  EXPECT_GT(timing.analysis_s, 0);  // Ind-0 pays for one greedy analysis chain

  o.pro = 0;
  EXPECT_THROW(ScaledScorer(*t.m, *t.task, &emb, &protos, o), pgenrm::Error);  // no chain at all
}

TEST(Embed, PartOneTextIsTheAnalysisOnly) {
  EXPECT_EQ(part1_text("PART 1: Preference Modeling\nPersona: warm.\nScenario: x.\nPART 2: Final Scoring Scheme\n<JSON_START>{}"),
            "Persona: warm.\nScenario: x.");
  EXPECT_EQ(part1_text("Persona: cut off"), "Persona: cut off");
}

// The text selections of retrieval on a chain as chain::render writes it:
// if the chain format moved a field, the selection would silently embed
// something else (or fall back to Part 1), so each one is pinned here.
TEST(Embed, AnalysisTextSelectsPersonaAndCriteriaOfARenderedChain) {
  chain::Chain c;
  c.persona = "warm, creative; stated none; history favours warm.";
  c.scenario = "music: wants warm, thorough.";
  c.derivation = "warmth first, then depth, brevity.";
  c.criteria = {{"warmth", 60}, {"depth", 30}, {"brevity", 10}};
  c.scores = {{8, 5, 3}, {4, 9, 7}};
  const std::string text = chain::render(c);
  EXPECT_EQ(part1_field(text, "Persona:"), c.persona);
  EXPECT_EQ(part1_field(text, "Scenario:"), c.scenario);
  EXPECT_EQ(part1_field(text, "Criteria derivation:"), c.derivation);
  EXPECT_EQ(criteria_text(text), "1. warmth (60%) 2. depth (30%) 3. brevity (10%)");
  EXPECT_EQ(analysis_text(text, AnalysisText::kPart1), part1_text(text));
  EXPECT_EQ(analysis_text(text, AnalysisText::kPersona), c.persona);
  EXPECT_EQ(analysis_text(text, AnalysisText::kCriteria), "1. warmth (60%) 2. depth (30%) 3. brevity (10%)");
  EXPECT_EQ(analysis_text(text, AnalysisText::kPersonaCriteria),
            c.persona + "\n1. warmth (60%) 2. depth (30%) 3. brevity (10%)");
  // What greedy_analyses stops at still leaves the selection whole.
  for (auto t : {AnalysisText::kPart1, AnalysisText::kPersona}) {
    const std::string stop = analysis_stop(t);
    ASSERT_FALSE(stop.empty());
    const std::string cut = text.substr(0, text.find(stop) + stop.size());
    EXPECT_EQ(analysis_text(cut, t), analysis_text(text, t)) << to_string(t);
  }
  EXPECT_TRUE(analysis_stop(AnalysisText::kCriteria).empty());
  EXPECT_TRUE(needs_part2(AnalysisText::kPersonaCriteria));
  EXPECT_FALSE(needs_part2(AnalysisText::kPersona));
  // A field must start a line: "Persona:" inside another line is not it.
  EXPECT_EQ(part1_field("PART 1: Preference Modeling\nScenario: a Persona: b\nPersona: c\nPART 2", "Persona:"), "c");
  // Nothing found: Part 1 is embedded instead, never an empty text.
  EXPECT_EQ(analysis_text("Persona cut", AnalysisText::kCriteria), "Persona cut");
  for (auto t : {AnalysisText::kPart1, AnalysisText::kPersona, AnalysisText::kCriteria,
                 AnalysisText::kPersonaCriteria})
    EXPECT_EQ(parse_analysis_text(to_string(t)), t);
  EXPECT_THROW(parse_analysis_text("part3"), pgenrm::Error);
}

// The cost accounting of a generation call (docs/PERFORMANCE.md): left
// padding to the longest prompt, decoding until the longest chain ends.
TEST(TokenCount, CountsPaddingAndFinishedSequences) {
  TokenCount c;
  // Prompts of 3 and 5 tokens, 2 chains each: chains of 2, 4, 1 and 4 tokens.
  count_call(&c, {3, 5}, 2, {2, 4, 1, 4}, 10);
  EXPECT_EQ(c.calls, 1);
  EXPECT_EQ(c.prompts, 2);
  EXPECT_EQ(c.sequences, 4);
  EXPECT_EQ(c.prompt_tokens, 8);
  EXPECT_EQ(c.prefill_tokens, 10);  // both prompts padded to 5
  EXPECT_DOUBLE_EQ(c.prefill_attn, 50);
  EXPECT_EQ(c.generated_tokens, 11);
  EXPECT_EQ(c.decode_slots, 12);  // 4 sequences × 3 decode forwards (the 1st token is the prefill's)
  EXPECT_DOUBLE_EQ(c.decode_attn, 4 * (3 * 5 + 6));  // prefix 5 + suffix 1, 2, 3
  // A chain cut at max_new_tokens counts max_new_tokens.
  TokenCount d;
  count_call(&d, {4}, 1, {30}, 10);
  EXPECT_EQ(d.generated_tokens, 10);
  EXPECT_EQ(d.decode_slots, 9);
  c += d;
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(c.generated_tokens, 21);
  EXPECT_EQ(c.prefill_tokens, 14);
}
