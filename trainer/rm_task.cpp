#include "trainer/rm_task.h"

#include <ATen/ATen.h>

#include <cmath>
#include <initializer_list>
#include <string>

#include "core/error.h"
#include "core/stop.h"

namespace pgenrm::trainer {

namespace {
// The first of `names` the tokenizer knows: PersonaWorld's own token, then
// the Llama 3 and Qwen3 equivalents (real-data runs use those tokenizers).
int64_t special_id(const model::Tokenizer& tok, const char* role, std::initializer_list<const char*> names) {
  std::string tried;
  for (const char* n : names) {
    if (auto id = tok.token_to_id(n)) return *id;
    tried += std::string(tried.empty() ? "" : ", ") + n;
  }
  PGENRM_CHECK(false, std::string("the tokenizer has no ") + role + " token (tried " + tried + ")",
               "use the tokenizer.json PersonaWorld writes, a Llama 3 or Qwen3 tokenizer, or add the token");
  return -1;
}
}  // namespace

RmTask::RmTask(const data::Dataset& ds, const model::Tokenizer& tok, data::HistoryOptions history,
               int64_t max_prompt_tokens)
    : ds_(ds), tok_(tok), history_(history), max_prompt_tokens_(max_prompt_tokens) {
  bos_ = special_id(tok, "<bos>", {"<bos>", "<|begin_of_text|>", "<|endoftext|>"});
  eos_ = special_id(tok, "<eos>", {"<eos>", "<|eot_id|>", "<|im_end|>"});
  pad_ = special_id(tok, "<pad>", {"<pad>", "<|finetune_right_pad_id|>", "<|end_of_text|>", "<|endoftext|>"});
}

data::History RmTask::history(size_t i, uint64_t seed) const {
  return data::sample_history(ds_, ds_.pairs.at(i), history_, seed);
}

RmPrompt RmTask::prompt(size_t i, data::PromptKind kind, uint64_t seed,
                        const data::History* override_history) const {
  const data::Pair& p = ds_.pairs.at(i);
  RmPrompt out;
  out.pair = i;
  out.order = data::response_order(seed, p.pair_id);
  data::History h = override_history ? *override_history : history(i, seed);
  const std::string text = data::render_prompt(kind, ds_.user_of(p), h, p, out.order);
  std::vector<int32_t> ids = tok_.encode(text);
  const int64_t keep = std::min<int64_t>(ids.size(), max_prompt_tokens_ - 1);
  out.ids.push_back(bos_);
  out.ids.insert(out.ids.end(), ids.end() - keep, ids.end());
  return out;
}

RmPrompt RmTask::prompt(const data::TeacherRecord& r, data::PromptKind kind) const {
  RmPrompt out;
  out.pair = ds_.pair_index(r.pair_id);
  out.order = r.order;
  std::vector<int32_t> ids = tok_.encode(data::teacher_prompt(ds_, r, kind));
  const int64_t keep = std::min<int64_t>(ids.size(), max_prompt_tokens_ - 1);
  out.ids.push_back(bos_);
  out.ids.insert(out.ids.end(), ids.end() - keep, ids.end());
  return out;
}

std::vector<int64_t> RmTask::target(const std::string& chain_text) const {
  std::vector<int32_t> ids = tok_.encode(chain_text);
  std::vector<int64_t> out(ids.begin(), ids.end());
  out.push_back(eos_);
  return out;
}

std::string RmTask::text(const std::vector<int64_t>& ids) const {
  std::vector<int32_t> cut;
  for (int64_t id : ids) {
    if (id == eos_) break;
    cut.push_back(static_cast<int32_t>(id));
  }
  return tok_.decode(cut);
}

ReadChain RmTask::read(const std::vector<int64_t>& ids, const std::vector<int>& order) const {
  ReadChain r;
  r.text = text(ids);
  r.parsed = chain::parse(r.text, order.size());
  // Verdicts come from the breakdown (DESIGN.md §4): a chain whose only
  // fault is a wrong stated total still decides, and its error is counted.
  auto to_original = [&](const std::vector<double>& prompt_order) {
    std::vector<double> original(order.size());
    for (size_t k = 0; k < order.size(); ++k) original[order[k]] = prompt_order[k];
    return original;
  };
  if (auto s = chain::extract_breakdown_scores(r.parsed)) r.scores = to_original(*s);
  if (auto s = chain::extract_breakdown_scores(r.parsed, /*renormalise_weights=*/true))
    r.repaired = to_original(*s);
  return r;
}

std::vector<ModelScore> score_with_model(model::TransformerImpl& m, const RmTask& task,
                                         const std::vector<RmPrompt>& prompts, int64_t chains,
                                         const model::SampleParams& sample, int64_t batch,
                                         chain::ErrorCounts* counts) {
  std::vector<ModelScore> out(prompts.size());
  const bool was_training = m.is_training();
  m.eval();
  model::SampleParams sp = sample;
  sp.stop_ids = {task.eos()};
  sp.pad_id = task.pad();
  for (size_t start = 0; start < prompts.size(); start += batch) {
    // A stop (SIGTERM/SIGUSR1) between generation batches: the run resumes
    // from the checkpoint written before this evaluation (core/stop.h).
    core::throw_if_stop_requested("generation");
    const size_t end = std::min(prompts.size(), start + batch);
    std::vector<std::vector<int64_t>> ids;
    for (size_t i = start; i < end; ++i) ids.push_back(prompts[i].ids);
    model::Generation g = model::generate(m, ids, chains, sp, static_cast<int64_t>(start * chains));
    for (size_t i = start; i < end; ++i) {
      ModelScore& s = out[i];
      double sc = 0, sr = 0, rc = 0, rr = 0;
      int repaired = 0;
      for (int64_t c = 0; c < chains; ++c) {
        ReadChain r = task.read(g.tokens[(i - start) * chains + c], prompts[i].order);
        if (counts) counts->add(r.parsed);
        if (r.scores) {
          sc += (*r.scores)[0];
          sr += (*r.scores)[1];
          ++s.valid;
        } else {
          ++s.invalid;
        }
        if (r.repaired) {
          rc += (*r.repaired)[0];
          rr += (*r.repaired)[1];
          ++repaired;
        }
        s.chains.push_back(std::move(r));
      }
      s.chosen = s.valid ? sc / s.valid : std::nan("");
      s.rejected = s.valid ? sr / s.valid : std::nan("");
      s.chosen_repaired = repaired ? rc / repaired : std::nan("");
      s.rejected_repaired = repaired ? rr / repaired : std::nan("");
    }
  }
  m.train(was_training);
  return out;
}

std::vector<chain::UserCriterion> user_criteria(const data::User& user,
                                                const std::vector<chain::UserCriterion>& synthesised) {
  if (user.stated.empty()) return synthesised;
  std::vector<chain::UserCriterion> out;
  for (const auto& s : user.stated) out.push_back({s.name, static_cast<double>(s.weight)});
  return out;
}

}  // namespace pgenrm::trainer
