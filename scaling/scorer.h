// Test-time user-based scaling of the reward model (DESIGN.md §7):
//   Ind-m  m chains of the user's own prompt from one prefill (forked KV
//          cache, batched decode; trainer::score_with_model); a response's
//          score is the mean over the valid chains, invalid ones counted.
//   Pro-n  the user's Part-1 analysis (of the Ind chains, or with m = 0 one
//          greedy chain cut at "PART 2" generated for it) is embedded → the
//          nearest prototype → its n most similar members → the CURRENT
//          query and responses are scored with each neighbour's history
//          (the user's own stated criteria stay in a PSI prompt), one
//          chain per neighbour, all neighbours of all pairs in one batched
//          generation; the mean over the valid neighbour chains.
//   s = c_self·mean_ind + c_pro·mean_pro; a side without a valid chain
//   drops out (s is the other side's mean; NaN when neither has one).
// With Pro-n, the own (or analysis) chains and the neighbour chains share
// one decode loop (model::GenerationBatch): a pair's neighbour prompts are
// prefilled and join the running decode as soon as its analysis chains
// have written the analysis ("PART 2"), so the neighbour chains decode
// alongside the rest of the own chains instead of after them. The chains
// are those of running the two one after the other (ScaledOptions::join).
// The repaired reading (weights as proportions, trainer/rm_task.h) is
// aggregated the same way alongside.
//
// Not here: building prototypes (scaling/build.h), reports (report.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/history.h"
#include "data/prompt.h"
#include "model/generate.h"
#include "scaling/embed.h"
#include "scaling/prototypes.h"
#include "trainer/rm_task.h"

namespace pgenrm::scaling {

struct ScaledOptions {
  int64_t ind = 1;  // own chains (0 = neighbours only)
  int64_t pro = 0;  // neighbour users
  double c_self = 0.5, c_pro = 0.5;
  model::SampleParams sample;     // of sampled chains (Ind-m with m > 1, Pro-n)
  int64_t batch = 32;             // own prompts per generation call
  // Neighbour prompts per generation call (one chain each). As many as own
  // prompts: each neighbour prompt has its own prefix, and on the 2-core CPU
  // 32 per call decoded Ind-0/Pro-8's neighbours ~20% faster than 256
  // (bench_scaling --pro-batches, docs/PERFORMANCE.md).
  int64_t pro_batch = 32;
  data::PromptKind kind = data::PromptKind::kPsi;
  data::HistoryOptions history;   // how a neighbour's history is drawn
  int64_t analysis_chains = 4;    // own chains whose Part 1 is embedded (mean)
  // What of a chain is embedded; must be what the prototypes were built with.
  AnalysisText analysis_text = AnalysisText::kPart1;
  // When a pair's neighbour chains start: as soon as its analysis is
  // written (kWhenReady, one decode loop), or once every own chain of the
  // generation call has ended (kAfterOwn: two loops, the cost comparison
  // of bench_scaling). The chains are the same. With Ind-0 they start when
  // every greedy analysis chain of the call has stopped, either way.
  enum class Join { kWhenReady, kAfterOwn } join = Join::kWhenReady;
};

// Mean over the valid chains of a group (NaN when none is valid).
struct ChainMean {
  double chosen = 0, rejected = 0, chosen_repaired = 0, rejected_repaired = 0;
  int valid = 0, invalid = 0, repaired = 0;
};
ChainMean mean_of_chains(const std::vector<const trainer::ReadChain*>& chains);

// c_self·ind + c_pro·pro, or the side that exists (see the file comment).
double combine(double ind, bool ind_ok, double pro, bool pro_ok, double c_self, double c_pro);

struct ScaledScore {
  double chosen = 0, rejected = 0;                    // NaN when no chain decided
  double chosen_repaired = 0, rejected_repaired = 0;
  ChainMean ind, pro;
  int64_t prototype = -1;               // nearest prototype of the analysis (Pro-n)
  std::vector<std::string> neighbours;  // user ids, most similar first
  std::string analysis;                 // the Part-1 text embedded (first chain's)
};

// What a group of generation calls computed, counted from the prompts and
// the chains (docs/PERFORMANCE.md turns it into FLOPs). A call left-pads
// its prompts to the longest one and decodes until its longest chain ends,
// finished sequences included, so the padded counts are what is computed.
struct TokenCount {
  int64_t calls = 0, prompts = 0, sequences = 0;
  int64_t prompt_tokens = 0;     // real prompt tokens
  int64_t prefill_tokens = 0;    // Σ calls: prompts × longest prompt
  double prefill_attn = 0;       // Σ calls: prompts × longest² (score entries per head and layer)
  int64_t generated_tokens = 0;  // real chain tokens, <eos> included
  int64_t decode_slots = 0;      // Σ calls: sequences × (longest chain − 1) decode forwards
  double decode_attn = 0;        // Σ over decode forwards of the positions attended (padded prefix + suffix)
  TokenCount& operator+=(const TokenCount& o);
};
// Adds one generation call: prompt lengths, `group` chains per prompt and
// the chain lengths [prompt * group + g] (capped at max_new_tokens).
void count_call(TokenCount* c, const std::vector<int64_t>& prompt_len, int64_t group,
                const std::vector<int64_t>& chain_len, int64_t max_new_tokens);

// Where the time of score() went. Without Pro-n, ind_s is all of it. With
// Pro-n the chains share decode steps, so prefills and decoding are apart:
// ind_s / analysis_s / pro_s are the prefills of the own prompts, of
// Ind-0's analysis prompts and of the neighbour prompts, and decode_s the
// decode steps of all of them together.
struct ScaledTiming {
  double ind_s = 0, analysis_s = 0, embed_s = 0, retrieval_s = 0, pro_s = 0, decode_s = 0;
  int64_t decode_steps = 0;  // decode forwards of the Pro-n loops (each over every live group)
  TokenCount own, analysis, pro;  // own (Ind) chains, Ind-0's analysis chains, neighbour chains
};

// One greedy chain per prompt, stopped as soon as the selected text is
// written ("PART 2" for kPart1, "Scenario:" for kPersona, <eos> for a
// selection that needs Part 2): the analyses, analysis_text(chain, text).
std::vector<std::string> greedy_analyses(model::TransformerImpl& rm, const trainer::RmTask& task,
                                         const std::vector<trainer::RmPrompt>& prompts, int64_t batch,
                                         int64_t max_new_tokens, AnalysisText text = AnalysisText::kPart1,
                                         TokenCount* count = nullptr);
// The stop string of greedy_analyses for `text` ("" = none, stop at <eos>).
std::string analysis_stop(AnalysisText text);

// The history of neighbour `user_id` drawn as if it were that user's own
// for evaluating `pair` (same seed rule as the user's own history).
data::History neighbour_history(const data::Dataset& ds, const data::Pair& pair, const std::string& user_id,
                                const data::HistoryOptions& opts, uint64_t seed);

class ScaledScorer {
 public:
  // `embedder` and `protos` may be null when opts.pro == 0. All references
  // must outlive the scorer.
  ScaledScorer(model::TransformerImpl& rm, const trainer::RmTask& task, const Embedder* embedder,
               const Prototypes* protos, ScaledOptions opts);
  // Scores `pairs` (indices into the task's dataset) under `seed` (history,
  // response order and sampling).
  std::vector<ScaledScore> score(const std::vector<size_t>& pairs, uint64_t seed,
                                 ScaledTiming* timing = nullptr) const;
  const ScaledOptions& options() const { return opts_; }
  const trainer::RmTask& task() const { return task_; }

 private:
  // Pro-n (Ind-m with m >= 0) on pairs[start, end): one GenerationBatch.
  void score_with_neighbours(const std::vector<size_t>& pairs, size_t start, size_t end,
                             const std::vector<trainer::RmPrompt>& own, uint64_t seed,
                             std::vector<ScaledScore>* out, ScaledTiming* t) const;

  model::TransformerImpl& rm_;
  const trainer::RmTask& task_;
  const Embedder* embedder_;
  const Prototypes* protos_;
  ScaledOptions opts_;
};

}  // namespace pgenrm::scaling
