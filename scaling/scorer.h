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
  // Neighbour prompts per generation call: each has one chain, so a call
  // holds as many sequences as `batch` own prompts with Ind-8.
  int64_t pro_batch = 256;
  data::PromptKind kind = data::PromptKind::kPsi;
  data::HistoryOptions history;   // how a neighbour's history is drawn
  int64_t analysis_chains = 4;    // own chains whose Part 1 is embedded (mean)
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

struct ScaledTiming {
  double ind_s = 0, analysis_s = 0, embed_s = 0, retrieval_s = 0, pro_s = 0;
};

// One greedy chain per prompt, stopped at "PART 2": the Part-1 analyses.
std::vector<std::string> greedy_analyses(model::TransformerImpl& rm, const trainer::RmTask& task,
                                         const std::vector<trainer::RmPrompt>& prompts, int64_t batch,
                                         int64_t max_new_tokens);

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
  model::TransformerImpl& rm_;
  const trainer::RmTask& task_;
  const Embedder* embedder_;
  const Prototypes* protos_;
  ScaledOptions opts_;
};

}  // namespace pgenrm::scaling
