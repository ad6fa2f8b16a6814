// The reward-model task glued to tokens: pairs → prompt ids (PSI or CRE
// prompt, seeded history and response order), chains → target ids, and
// generated ids → parsed verdicts mapped back to the original order
// {chosen, rejected}. Also the model as a scorer (Ind-m: mean of the valid
// chains' recomputed totals) and the GRPO reward of a chain.
//
// Not here: the prompt text (data/prompt.h), the chain format (chain/), the
// update rules (trainer/grpo_*.h, sft.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "chain/parse.h"
#include "chain/rewards.h"
#include "data/history.h"
#include "data/prompt.h"
#include "data/teacher.h"
#include "data/types.h"
#include "model/generate.h"
#include "model/tokenizer.h"

namespace pgenrm::trainer {

struct RmPrompt {
  size_t pair = 0;         // index into the dataset's pairs
  std::vector<int> order;  // order[k] = original response shown as "Response k+1"
  std::vector<int64_t> ids;
};

// A chain read back, scores in ORIGINAL order {chosen, rejected}:
//   scores    strict — a valid chain, or one whose only fault is a stated
//             total (the breakdown decides, DESIGN.md §4)
//   repaired  also a chain whose weights do not sum to 100, read with the
//             weights as proportions; reported apart from strict accuracy
struct ReadChain {
  std::string text;  // the decoded chain
  chain::ParseResult parsed;
  std::optional<std::vector<double>> scores, repaired;
};

class RmTask {
 public:
  // `ds` and `tok` must outlive the task. Prompts longer than
  // `max_prompt_tokens` keep their last tokens (the query and responses).
  RmTask(const data::Dataset& ds, const model::Tokenizer& tok, data::HistoryOptions history,
         int64_t max_prompt_tokens);

  // The prompt of pair `i` with the history and response order of `seed`.
  // `history` overrides the sampled history (diagnostics flip it).
  RmPrompt prompt(size_t i, data::PromptKind kind, uint64_t seed,
                  const data::History* history = nullptr) const;
  // The prompt a teacher record's chain was written for: its history and
  // response order as recorded (real data's teacher.jsonl).
  RmPrompt prompt(const data::TeacherRecord& r, data::PromptKind kind) const;
  data::History history(size_t i, uint64_t seed) const;
  std::vector<int64_t> target(const std::string& chain_text) const;  // + <eos>
  std::string text(const std::vector<int64_t>& ids) const;          // stops at <eos>
  ReadChain read(const std::vector<int64_t>& ids, const std::vector<int>& order) const;

  const data::Dataset& dataset() const { return ds_; }
  const model::Tokenizer& tokenizer() const { return tok_; }
  int64_t bos() const { return bos_; }
  int64_t eos() const { return eos_; }
  int64_t pad() const { return pad_; }

 private:
  const data::Dataset& ds_;
  const model::Tokenizer& tok_;
  data::HistoryOptions history_;
  int64_t max_prompt_tokens_;
  int64_t bos_, eos_, pad_;
};

// The model as a pair scorer. For each prompt, m chains (greedy when
// sample.temperature = 0 and m = 1) from one shared prefill; a response's
// score is the mean over the chains that parsed. Prompts are processed
// `batch` at a time.
struct ModelScore {
  double chosen = 0, rejected = 0;  // NaN when no chain parsed
  double chosen_repaired = 0, rejected_repaired = 0;  // over repaired readings
  int valid = 0, invalid = 0;
  std::vector<ReadChain> chains;
};
std::vector<ModelScore> score_with_model(model::TransformerImpl& m, const RmTask& task,
                                         const std::vector<RmPrompt>& prompts, int64_t chains,
                                         const model::SampleParams& sample, int64_t batch,
                                         chain::ErrorCounts* counts = nullptr);

// The criteria PR is measured against: the user's stated criteria, or when
// there are none, criteria synthesised from the history (`synthesised`,
// computed by the caller, e.g. the posterior's top criteria).
std::vector<chain::UserCriterion> user_criteria(const data::User& user,
                                                const std::vector<chain::UserCriterion>& synthesised);

}  // namespace pgenrm::trainer
