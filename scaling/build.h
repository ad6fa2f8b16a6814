// From a reward model and a dataset to the inputs of prototypes:
//   member_analyses  every training user with a training pair: the Part 1 of
//                    the model's greedy chain on up to `analysis_pairs` of
//                    its training pairs (or the AnalysisText selected),
//                    embedded, averaged, L2-normalised
//   refine_data      the samples of refinement (refine.h): each pair of the
//                    given users as (q, y⁺, y⁻) with the h triples of its
//                    seeded history, all embedded with the same model
//   same_prototype_rate  on PersonaWorld: the share of retrieved neighbours
//                    whose TRUE prototype is the query user's
//
// Not here: the algorithms (kmeans.h, refine.h, prototypes.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "data/history.h"
#include "data/prompt.h"
#include "scaling/embed.h"
#include "scaling/prototypes.h"
#include "scaling/refine.h"
#include "trainer/rm_task.h"

namespace pgenrm::scaling {

struct MemberAnalyses {
  std::vector<std::string> user_ids;
  at::Tensor emb;  // [N, d] unit rows
  std::vector<std::string> example_text;  // the first analysis of each user
};

struct AnalysisOptions {
  int64_t analysis_pairs = 2;
  uint64_t seed = 1;  // history draw and response order of the analysis prompts
  int64_t batch = 32;
  int64_t max_new_tokens = 160;
  data::PromptKind kind = data::PromptKind::kPsi;
  AnalysisText text = AnalysisText::kPart1;  // what of the chain is embedded (embed.h)
};

// Users of the dataset with at least one training pair, in dataset order.
std::vector<size_t> member_candidates(const data::Dataset& ds);

MemberAnalyses member_analyses(model::TransformerImpl& rm, const trainer::RmTask& task, const Embedder& embedder,
                               const std::vector<size_t>& users, const AnalysisOptions& o);

// Samples of `pairs` (indices into the dataset); each sample's user
// embedding is its user's member embedding in `protos` (a user that is not
// a member throws). History triples: the pair's seeded history of at most
// opts.h pairs.
RefineData refine_data(const trainer::RmTask& task, const Embedder& embedder, const Prototypes& protos,
                       const std::vector<size_t>& pairs, const data::HistoryOptions& opts, uint64_t seed);

// Share of (query user, neighbour) pairs with the same true prototype, over
// users whose truth is known; {rate, count}. `neighbours[i]` are the
// neighbour user ids of `users[i]`.
std::pair<double, int64_t> same_prototype_rate(const data::Dataset& ds, const std::vector<std::string>& users,
                                               const std::vector<std::vector<std::string>>& neighbours);

}  // namespace pgenrm::scaling
