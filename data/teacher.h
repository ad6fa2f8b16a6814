// The Stage-1 teacher (the stand-in for the paper's o3): writes evaluation
// chains from what the PSI prompt supports — the history labels, the stated
// criteria and the words of the responses — never from the user's hidden
// weights (DESIGN.md §5: targets the prompt cannot support made a tiny
// model collapse). Its weights are the posterior-mean scenario weights
// (data/posterior.h, perceived attributes) perturbed by log-normal noise, its
// scores the perceived attribute levels plus noise; both noises scale with
// the temperature. The top 3–4 criteria get integer weights summing to 100;
// totals are recomputed. Rejection sampling draws up to K chains per
// training pair and keeps the first that prefers the labelled chosen one.
//
// Not here: chain text format (chain/render.h), training.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chain/chain.h"
#include "data/history.h"
#include "data/posterior.h"
#include "data/prompt.h"
#include "data/scorers.h"

namespace pgenrm::data {

struct TeacherOptions {
  double temperature = 1.0;  // 0: posterior mean weights, perceived scores rounded
  int64_t max_draws = 4;     // K of rejection sampling
  int64_t max_criteria = 4;  // 3 or 4 criteria per chain
  int64_t weight_step = 1;   // weights are multiples of this (must divide 100)
  // Order of the criteria in Part 2: "importance" (heaviest first, the order
  // Part 1's derivation names them) or "fixed" (the world's criterion order).
  std::string criterion_order = "importance";
};

struct TeacherDraw {
  chain::Chain chain;  // responses in prompt order: order[k] is "Response k+1"
  std::vector<int> order;
  std::vector<double> totals;   // recomputed, original order {chosen, rejected}
  std::vector<double> weights;  // the noisy estimate w(user, scenario) it rounded from
  bool prefers_chosen() const { return totals[0] > totals[1]; }
};

class Teacher {
 public:
  // `world` and `posterior` must outlive the teacher.
  Teacher(const World& world, const Posterior& posterior, TeacherOptions options);
  // One chain for `pair` as shown with `order`; `stream` seeds its noise.
  TeacherDraw draw(const Pair& pair, const User& user, const History& history,
                   const std::vector<int>& order, uint64_t stream) const;
  const TeacherOptions& options() const { return options_; }

 private:
  std::string persona_text(const User& user, const std::vector<double>& user_w,
                           const std::vector<double>& history_delta, bool has_history) const;
  std::vector<int> pick_criteria(const std::vector<double>& weights) const;
  std::string derivation_text(const std::vector<int>& picked) const;

  const World* world_;
  const Posterior* posterior_;
  TeacherOptions options_;
};

// The response order a pair is prompted with ({0,1} or {1,0}), from
// (seed, pair id): the same for the teacher, the trainer and evaluation.
std::vector<int> response_order(uint64_t seed, const std::string& pair_id);
// Seed of draw k of the teacher for a pair.
uint64_t teacher_stream(uint64_t seed, const std::string& pair_id, int64_t draw);

// One line of teacher.jsonl: the PSI example of a training pair.
struct TeacherRecord {
  std::string pair_id, user_id;
  std::vector<std::string> history;  // pair ids in prompt order
  std::vector<int> order;
  int64_t draws = 0;  // chains drawn until one agreed with the label
  std::string chain;  // rendered chain text
  bool operator==(const TeacherRecord&) const = default;
};

struct TeacherStats {
  int64_t pairs = 0;          // training pairs the teacher wrote for
  int64_t first_correct = 0;  // first draw prefers chosen (accuracy before filtering)
  int64_t first_ties = 0;
  int64_t kept = 0;           // a chain within K draws preferred chosen
  int64_t draws = 0;          // chains drawn in all
  int64_t kept_parse_ok = 0;  // kept chains that chain::parse accepts
  double accuracy_before() const { return pairs ? double(first_correct) / double(pairs) : 0.0; }
  double coverage() const { return pairs ? double(kept) / double(pairs) : 0.0; }
};

struct TeacherRun {
  std::vector<TeacherRecord> records;  // kept chains only, in dataset order
  TeacherStats stats;
};

// The prompt a record's chain was written for: its pair, user, history (by
// pair id) and response order. PSI for SFT; CRE gives the same example
// without the stated criteria. Throws if an id is not in `ds`.
std::string teacher_prompt(const Dataset& ds, const TeacherRecord& record,
                           PromptKind kind = PromptKind::kPsi);

// Rejection sampling over every pair of `split` (train by default), with
// the history and order of (seed, pair id).
TeacherRun run_teacher(const World& world, const Dataset& ds, const Teacher& teacher,
                       const HistoryOptions& history, uint64_t seed, Split split = Split::kTrain);

// The teacher's first draw as a scorer (what it would say without a label).
std::unique_ptr<PairScorer> make_teacher_scorer(const Teacher& teacher, uint64_t seed);

}  // namespace pgenrm::data
