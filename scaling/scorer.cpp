#include "scaling/scorer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

namespace pgenrm::scaling {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

TokenCount& TokenCount::operator+=(const TokenCount& o) {
  calls += o.calls;
  prompts += o.prompts;
  sequences += o.sequences;
  prompt_tokens += o.prompt_tokens;
  prefill_tokens += o.prefill_tokens;
  prefill_attn += o.prefill_attn;
  generated_tokens += o.generated_tokens;
  decode_slots += o.decode_slots;
  decode_attn += o.decode_attn;
  return *this;
}

void count_call(TokenCount* c, const std::vector<int64_t>& prompt_len, int64_t group,
                const std::vector<int64_t>& chain_len, int64_t max_new_tokens) {
  if (prompt_len.empty()) return;
  const int64_t rows = static_cast<int64_t>(prompt_len.size()), seqs = rows * group;
  const int64_t T = *std::max_element(prompt_len.begin(), prompt_len.end());
  int64_t steps = 0;
  for (int64_t l : chain_len) {
    const int64_t n = std::min(l, max_new_tokens);
    steps = std::max(steps, n);
    c->generated_tokens += n;
  }
  ++c->calls;
  c->prompts += rows;
  c->sequences += seqs;
  for (int64_t l : prompt_len) c->prompt_tokens += l;
  c->prefill_tokens += rows * T;
  c->prefill_attn += static_cast<double>(rows) * T * T;
  const int64_t fwd = std::max<int64_t>(0, steps - 1);  // the first token comes from the prefill
  c->decode_slots += seqs * fwd;
  c->decode_attn += static_cast<double>(seqs) * (static_cast<double>(fwd) * T + 0.5 * fwd * (fwd + 1));
}

namespace {
// Counts score_with_model(prompts, group, batch) from its chains.
void count_scored(TokenCount* c, const trainer::RmTask& task, const std::vector<trainer::RmPrompt>& prompts,
                  const std::vector<trainer::ModelScore>& scored, int64_t group, int64_t batch,
                  int64_t max_new_tokens) {
  for (size_t s = 0; s < prompts.size(); s += batch) {
    const size_t e = std::min(prompts.size(), s + static_cast<size_t>(batch));
    std::vector<int64_t> pl, cl;
    for (size_t i = s; i < e; ++i) {
      pl.push_back(static_cast<int64_t>(prompts[i].ids.size()));
      for (const auto& ch : scored[i].chains) cl.push_back(static_cast<int64_t>(task.target(ch.text).size()));
    }
    count_call(c, pl, group, cl, max_new_tokens);
  }
}
}  // namespace

ChainMean mean_of_chains(const std::vector<const trainer::ReadChain*>& chains) {
  ChainMean m;
  double sc = 0, sr = 0, rc = 0, rr = 0;
  for (const auto* c : chains) {
    if (c->scores) {
      sc += (*c->scores)[0];
      sr += (*c->scores)[1];
      ++m.valid;
    } else {
      ++m.invalid;
    }
    if (c->repaired) {
      rc += (*c->repaired)[0];
      rr += (*c->repaired)[1];
      ++m.repaired;
    }
  }
  const double nan = std::nan("");
  m.chosen = m.valid ? sc / m.valid : nan;
  m.rejected = m.valid ? sr / m.valid : nan;
  m.chosen_repaired = m.repaired ? rc / m.repaired : nan;
  m.rejected_repaired = m.repaired ? rr / m.repaired : nan;
  return m;
}

double combine(double ind, bool ind_ok, double pro, bool pro_ok, double c_self, double c_pro) {
  if (ind_ok && pro_ok) return c_self * ind + c_pro * pro;
  if (ind_ok) return ind;
  if (pro_ok) return pro;
  return std::nan("");
}

std::string analysis_stop(AnalysisText text) {
  switch (text) {
    case AnalysisText::kPart1: return "PART 2";
    case AnalysisText::kPersona: return "Scenario:";
    default: return "";
  }
}

std::vector<std::string> greedy_analyses(model::TransformerImpl& rm, const trainer::RmTask& task,
                                         const std::vector<trainer::RmPrompt>& prompts, int64_t batch,
                                         int64_t max_new_tokens, AnalysisText text, TokenCount* count) {
  model::SampleParams sp;
  sp.temperature = 0;
  sp.max_new_tokens = std::max<int64_t>(1, max_new_tokens);
  sp.stop_ids = {task.eos()};
  if (const std::string stop = analysis_stop(text); !stop.empty()) sp.stop_strings = {stop};
  sp.decode_fn = [&task](const std::vector<int64_t>& ids) { return task.text(ids); };
  sp.pad_id = task.pad();
  const bool was_training = rm.is_training();
  rm.eval();
  std::vector<std::string> out;
  for (size_t start = 0; start < prompts.size(); start += batch) {
    const size_t end = std::min(prompts.size(), start + static_cast<size_t>(batch));
    std::vector<std::vector<int64_t>> ids;
    int64_t longest = 0;
    for (size_t i = start; i < end; ++i) {
      ids.push_back(prompts[i].ids);
      longest = std::max<int64_t>(longest, prompts[i].ids.size());
    }
    model::SampleParams b = sp;
    b.max_new_tokens = std::max<int64_t>(1, std::min<int64_t>(sp.max_new_tokens, rm.config().max_seq_len - longest));
    model::Generation g = model::generate(rm, ids, 1, b);
    for (const auto& t : g.tokens) out.push_back(analysis_text(task.text(t), text));
    if (count) {
      std::vector<int64_t> pl, cl;
      for (const auto& p : ids) pl.push_back(static_cast<int64_t>(p.size()));
      for (const auto& t : g.tokens) cl.push_back(static_cast<int64_t>(t.size()));
      count_call(count, pl, 1, cl, b.max_new_tokens);
    }
  }
  rm.train(was_training);
  return out;
}

data::History neighbour_history(const data::Dataset& ds, const data::Pair& pair, const std::string& user_id,
                                const data::HistoryOptions& opts, uint64_t seed) {
  PGENRM_CHECK(ds.find_user(user_id).has_value(),
               "prototype member '" + user_id + "' is not a user of this dataset",
               "build the prototypes on the data.dir you evaluate");
  data::Pair as_theirs = pair;  // same pair id: the same seeded draw rule as an own history
  as_theirs.user_id = user_id;
  return data::sample_history(ds, as_theirs, opts, seed);
}

ScaledScorer::ScaledScorer(model::TransformerImpl& rm, const trainer::RmTask& task, const Embedder* embedder,
                           const Prototypes* protos, ScaledOptions opts)
    : rm_(rm), task_(task), embedder_(embedder), protos_(protos), opts_(std::move(opts)) {
  PGENRM_CHECK(opts_.ind >= 0 && opts_.pro >= 0 && opts_.ind + opts_.pro >= 1,
               "scaling needs at least one chain (Ind-m + Pro-n >= 1)", "e.g. --ind 8 --pro 4");
  PGENRM_CHECK(opts_.pro == 0 || (embedder_ && protos_), "Pro-n needs prototypes and an embedding model",
               "run `pgenrm prototypes build` first");
  if (protos_ && embedder_)
    PGENRM_CHECK(protos_->dim() == embedder_->dim(),
                 "the prototypes have dimension " + std::to_string(protos_->dim()) +
                     " but the embedding model gives " + std::to_string(embedder_->dim()),
                 "use the scaling.embed_model the prototypes were built with");
}

std::vector<ScaledScore> ScaledScorer::score(const std::vector<size_t>& pairs, uint64_t seed,
                                             ScaledTiming* timing) const {
  ScaledTiming t;
  const auto& ds = task_.dataset();
  std::vector<ScaledScore> out(pairs.size());
  std::vector<trainer::RmPrompt> own;
  for (size_t i : pairs) own.push_back(task_.prompt(i, opts_.kind, seed));

  // Ind-m: m chains from one prefill per prompt.
  std::vector<trainer::ModelScore> ind;
  auto t0 = std::chrono::steady_clock::now();
  if (opts_.ind > 0) {
    model::SampleParams sp = opts_.sample;
    if (opts_.ind == 1 && opts_.pro == 0) sp.temperature = 0;  // no scaling: the greedy chain
    sp.seed = seed;
    ind = trainer::score_with_model(rm_, task_, own, opts_.ind, sp, opts_.batch);
    count_scored(&t.own, task_, own, ind, opts_.ind, opts_.batch, sp.max_new_tokens);
    for (size_t k = 0; k < pairs.size(); ++k) {
      std::vector<const trainer::ReadChain*> cs;
      for (const auto& c : ind[k].chains) cs.push_back(&c);
      out[k].ind = mean_of_chains(cs);
    }
  }
  t.ind_s = since(t0);

  if (opts_.pro > 0) {
    // The user's analysis: Part 1 of its own chains, or one greedy chain.
    t0 = std::chrono::steady_clock::now();
    std::vector<std::vector<std::string>> analyses(pairs.size());
    if (opts_.ind > 0) {
      for (size_t k = 0; k < pairs.size(); ++k)
        for (int64_t c = 0; c < std::min<int64_t>(opts_.ind, std::max<int64_t>(1, opts_.analysis_chains)); ++c)
          analyses[k].push_back(analysis_text(ind[k].chains[c].text, opts_.analysis_text));
    } else {
      auto g = greedy_analyses(rm_, task_, own, opts_.batch, opts_.sample.max_new_tokens, opts_.analysis_text,
                               &t.analysis);
      for (size_t k = 0; k < pairs.size(); ++k) analyses[k].push_back(g[k]);
    }
    t.analysis_s = since(t0);
    t0 = std::chrono::steady_clock::now();
    std::vector<std::string> flat;
    for (const auto& a : analyses) flat.insert(flat.end(), a.begin(), a.end());
    at::Tensor e = embedder_->embed(flat);
    t.embed_s = since(t0);

    // Retrieval and the neighbours' prompts, all pairs at once.
    t0 = std::chrono::steady_clock::now();
    std::vector<trainer::RmPrompt> theirs;
    std::vector<size_t> owner;
    int64_t row = 0;
    for (size_t k = 0; k < pairs.size(); ++k) {
      const int64_t na = static_cast<int64_t>(analyses[k].size());
      at::Tensor u = e.narrow(0, row, na).mean(0);
      row += na;
      u = u / u.norm().clamp_min(1e-12);
      const data::Pair& p = ds.pairs[pairs[k]];
      out[k].analysis = analyses[k].front();
      out[k].prototype = protos_->nearest(u);
      for (int64_t m : protos_->neighbours(u, opts_.pro, p.user_id)) {
        const std::string& id = protos_->member_ids[m];
        out[k].neighbours.push_back(id);
        const data::History h = neighbour_history(ds, p, id, opts_.history, seed);
        theirs.push_back(task_.prompt(pairs[k], opts_.kind, seed, &h));
        owner.push_back(k);
      }
    }
    t.retrieval_s = since(t0);

    // One chain per neighbour, every neighbour prompt in one batched run.
    t0 = std::chrono::steady_clock::now();
    model::SampleParams sp = opts_.sample;
    sp.seed = seed;
    sp.step = 1;  // a counter stream apart from the Ind chains'
    auto pro = trainer::score_with_model(rm_, task_, theirs, 1, sp, std::max<int64_t>(1, opts_.pro_batch));
    count_scored(&t.pro, task_, theirs, pro, 1, std::max<int64_t>(1, opts_.pro_batch), sp.max_new_tokens);
    std::vector<std::vector<const trainer::ReadChain*>> by_pair(pairs.size());
    for (size_t r = 0; r < pro.size(); ++r) by_pair[owner[r]].push_back(&pro[r].chains.front());
    for (size_t k = 0; k < pairs.size(); ++k) out[k].pro = mean_of_chains(by_pair[k]);
    t.pro_s = since(t0);
  }

  for (auto& s : out) {
    s.chosen = combine(s.ind.chosen, s.ind.valid > 0, s.pro.chosen, s.pro.valid > 0, opts_.c_self, opts_.c_pro);
    s.rejected = combine(s.ind.rejected, s.ind.valid > 0, s.pro.rejected, s.pro.valid > 0, opts_.c_self, opts_.c_pro);
    s.chosen_repaired = combine(s.ind.chosen_repaired, s.ind.repaired > 0, s.pro.chosen_repaired,
                                s.pro.repaired > 0, opts_.c_self, opts_.c_pro);
    s.rejected_repaired = combine(s.ind.rejected_repaired, s.ind.repaired > 0, s.pro.rejected_repaired,
                                  s.pro.repaired > 0, opts_.c_self, opts_.c_pro);
  }
  if (timing) {
    timing->ind_s += t.ind_s;
    timing->analysis_s += t.analysis_s;
    timing->embed_s += t.embed_s;
    timing->retrieval_s += t.retrieval_s;
    timing->pro_s += t.pro_s;
    timing->own += t.own;
    timing->analysis += t.analysis;
    timing->pro += t.pro;
  }
  return out;
}

}  // namespace pgenrm::scaling
