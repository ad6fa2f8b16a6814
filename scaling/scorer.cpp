#include "scaling/scorer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/stop.h"

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

namespace {
// Does the text of the last few tokens contain `marker`? Checked after
// every token, so a short marker is seen in the step that completes it.
bool tail_contains(const trainer::RmTask& task, const std::vector<int64_t>& toks, const std::string& marker) {
  const size_t n = std::min<size_t>(toks.size(), 16);
  return task.text(std::vector<int64_t>(toks.end() - n, toks.end())).find(marker) != std::string::npos;
}

void count_group(TokenCount* c, const std::vector<std::vector<int64_t>>& prompts, int64_t group,
                 const model::Generation& g, int64_t max_new_tokens) {
  std::vector<int64_t> pl, cl;
  for (const auto& p : prompts) pl.push_back(static_cast<int64_t>(p.size()));
  for (const auto& t : g.tokens) cl.push_back(static_cast<int64_t>(t.size()));
  count_call(c, pl, group, cl, max_new_tokens);
}
}  // namespace

void ScaledScorer::score_with_neighbours(const std::vector<size_t>& pairs, size_t start, size_t end,
                                         const std::vector<trainer::RmPrompt>& own, uint64_t seed,
                                         std::vector<ScaledScore>* out, ScaledTiming* t) const {
  const auto& ds = task_.dataset();
  const size_t n = end - start;
  model::GenerationBatch gen(rm_);
  std::vector<std::vector<int64_t>> own_ids;
  int64_t longest = 0;
  for (size_t k = start; k < end; ++k) {
    own_ids.push_back(own[k].ids);
    longest = std::max<int64_t>(longest, own[k].ids.size());
  }

  // The own chains (Ind-m), or with m = 0 one greedy chain per pair that
  // stops once the analysis is written.
  auto t0 = std::chrono::steady_clock::now();
  model::SampleParams own_sp = opts_.sample;
  own_sp.seed = seed;
  own_sp.stop_ids = {task_.eos()};
  own_sp.pad_id = task_.pad();
  int64_t G = opts_.ind;
  if (opts_.ind == 0) {  // as greedy_analyses
    G = 1;
    own_sp.temperature = 0;
    own_sp.max_new_tokens =
        std::max<int64_t>(1, std::min<int64_t>(opts_.sample.max_new_tokens, rm_.config().max_seq_len - longest));
    if (const std::string stop = analysis_stop(opts_.analysis_text); !stop.empty()) own_sp.stop_strings = {stop};
    own_sp.decode_fn = [this](const std::vector<int64_t>& ids) { return task_.text(ids); };
  }
  std::vector<int64_t> own_base;
  for (size_t k = start; k < end; ++k) own_base.push_back(static_cast<int64_t>(k) * G);
  const size_t own_id = gen.add(own_ids, G, own_sp, own_base);
  (opts_.ind > 0 ? t->ind_s : t->analysis_s) += since(t0);

  // Which own chains carry the analysis, and the text that marks it written
  // ("" = the whole chain: wait for its end).
  const int64_t n_analysis = opts_.ind > 0 ? std::min<int64_t>(opts_.ind, std::max<int64_t>(1, opts_.analysis_chains)) : 1;
  const bool whole_chain = needs_part2(opts_.analysis_text);
  const std::string marker = opts_.ind > 0 ? (whole_chain ? "" : "PART 2") : "";
  std::vector<std::vector<char>> written(n, std::vector<char>(n_analysis, 0));
  std::vector<char> joined(n, 0);

  model::SampleParams pro_sp = opts_.sample;
  pro_sp.seed = seed;
  pro_sp.step = 1;  // a counter stream apart from the own chains'
  pro_sp.stop_ids = {task_.eos()};
  pro_sp.pad_id = task_.pad();
  struct Joined {
    size_t id;
    std::vector<size_t> owner;  // pair index (into pairs) per prompt
    std::vector<std::vector<int64_t>> prompts;
    std::vector<std::vector<int>> order;
  };
  std::vector<Joined> groups;

  // Starts the neighbour chains of every pair whose analysis is written.
  auto join_ready = [&]() {
    const model::Generation& g = gen.result(own_id);
    const bool own_done = gen.finished(own_id);
    // Ind-0's greedy analysis chains stop at "PART 2", close together:
    // starting the neighbours in one wave when they have all stopped costs
    // no steps and spares the per-wave prefills and attention groups (32
    // pairs per call: 6.4 s against 7.1 s as they came).
    if ((opts_.join == ScaledOptions::Join::kAfterOwn || opts_.ind == 0) && !own_done) return false;
    std::vector<size_t> ready;
    for (size_t k = 0; k < n; ++k) {
      if (joined[k]) continue;
      bool all = true;
      for (int64_t c = 0; c < n_analysis; ++c) {
        const size_t row = k * G + c;
        if (!written[k][c]) {
          const auto& toks = g.tokens[row];
          written[k][c] = own_done || g.finish[row] == model::FinishReason::kStop ||
                          (!marker.empty() && !toks.empty() && tail_contains(task_, toks, marker));
        }
        all = all && written[k][c];
      }
      if (all) ready.push_back(k);
    }
    if (ready.empty()) return false;
    // A wave fills at least one prefill group (pro_batch prompts) unless it
    // is the last one: every wave is its own prefill call and attention
    // group, and at 32 pairs per call one wave per step cost more than the
    // steps saved.
    const size_t waiting = static_cast<size_t>(std::count(joined.begin(), joined.end(), 0));
    if (!own_done && ready.size() < waiting &&
        static_cast<int64_t>(ready.size()) * opts_.pro < std::max<int64_t>(1, opts_.pro_batch))
      return false;

    auto t1 = std::chrono::steady_clock::now();
    std::vector<std::string> flat;
    for (size_t k : ready)
      for (int64_t c = 0; c < n_analysis; ++c)
        flat.push_back(analysis_text(task_.text(g.tokens[k * G + c]), opts_.analysis_text));
    at::Tensor e = embedder_->embed(flat);
    t->embed_s += since(t1);

    t1 = std::chrono::steady_clock::now();
    std::vector<size_t> owner;
    std::vector<trainer::RmPrompt> theirs;
    std::vector<int64_t> base;
    for (size_t r = 0; r < ready.size(); ++r) {
      const size_t k = ready[r], pk = start + k;
      joined[k] = 1;
      at::Tensor u = e.narrow(0, static_cast<int64_t>(r) * n_analysis, n_analysis).mean(0);
      u = u / u.norm().clamp_min(1e-12);
      const data::Pair& p = ds.pairs[pairs[pk]];
      ScaledScore& sc = (*out)[pk];
      sc.analysis = flat[r * n_analysis];
      sc.prototype = protos_->nearest(u);
      int64_t j = 0;
      for (int64_t m : protos_->neighbours(u, opts_.pro, p.user_id)) {
        const std::string& id = protos_->member_ids[m];
        sc.neighbours.push_back(id);
        const data::History h = neighbour_history(ds, p, id, opts_.history, seed);
        theirs.push_back(task_.prompt(pairs[pk], opts_.kind, seed, &h));
        owner.push_back(pk);
        base.push_back(static_cast<int64_t>(pk) * opts_.pro + j++);  // the stream of neighbour j of pair pk
      }
    }
    t->retrieval_s += since(t1);

    t1 = std::chrono::steady_clock::now();
    const size_t per_call = static_cast<size_t>(std::max<int64_t>(1, opts_.pro_batch));
    for (size_t s = 0; s < theirs.size(); s += per_call) {
      const size_t e_ = std::min(theirs.size(), s + per_call);
      Joined jg;
      for (size_t i = s; i < e_; ++i) {
        jg.prompts.push_back(theirs[i].ids);
        jg.order.push_back(theirs[i].order);
        jg.owner.push_back(owner[i]);
      }
      jg.id = gen.add(jg.prompts, 1, pro_sp, std::vector<int64_t>(base.begin() + s, base.begin() + e_));
      groups.push_back(std::move(jg));
    }
    t->pro_s += since(t1);
    return true;
  };

  for (;;) {
    t0 = std::chrono::steady_clock::now();
    const bool more = gen.step();
    t->decode_s += since(t0);
    t->decode_steps += more ? 1 : 0;
    const bool started = join_ready();
    if (!more && !started) break;
  }
  PGENRM_CHECK(std::all_of(joined.begin(), joined.end(), [](char c) { return c != 0; }),
               "a pair's analysis never completed", "report this: the own chains ended without a join");

  // Read the chains.
  const model::Generation& g = gen.result(own_id);
  if (opts_.ind > 0) {
    count_group(&t->own, own_ids, G, g, own_sp.max_new_tokens);
    for (size_t k = 0; k < n; ++k) {
      std::vector<trainer::ReadChain> chains;
      for (int64_t c = 0; c < G; ++c) chains.push_back(task_.read(g.tokens[k * G + c], own[start + k].order));
      std::vector<const trainer::ReadChain*> cs;
      for (const auto& c : chains) cs.push_back(&c);
      (*out)[start + k].ind = mean_of_chains(cs);
    }
  } else {
    count_group(&t->analysis, own_ids, 1, g, own_sp.max_new_tokens);
  }
  std::vector<std::vector<trainer::ReadChain>> by_pair(n);
  for (const Joined& jg : groups) {
    const model::Generation& r = gen.result(jg.id);
    count_group(&t->pro, jg.prompts, 1, r, pro_sp.max_new_tokens);
    for (size_t i = 0; i < jg.prompts.size(); ++i)
      by_pair[jg.owner[i] - start].push_back(task_.read(r.tokens[i], jg.order[i]));
  }
  for (size_t k = 0; k < n; ++k) {
    std::vector<const trainer::ReadChain*> cs;
    for (const auto& c : by_pair[k]) cs.push_back(&c);
    (*out)[start + k].pro = mean_of_chains(cs);
  }
}

std::vector<ScaledScore> ScaledScorer::score(const std::vector<size_t>& pairs, uint64_t seed,
                                             ScaledTiming* timing) const {
  ScaledTiming t;
  std::vector<ScaledScore> out(pairs.size());
  std::vector<trainer::RmPrompt> own;
  for (size_t i : pairs) own.push_back(task_.prompt(i, opts_.kind, seed));

  const bool was_training = rm_.is_training();
  rm_.eval();
  if (opts_.pro == 0) {
    // Ind-m: m chains from one prefill per prompt.
    auto t0 = std::chrono::steady_clock::now();
    model::SampleParams sp = opts_.sample;
    if (opts_.ind == 1) sp.temperature = 0;  // no scaling: the greedy chain
    sp.seed = seed;
    auto ind = trainer::score_with_model(rm_, task_, own, opts_.ind, sp, opts_.batch);
    count_scored(&t.own, task_, own, ind, opts_.ind, opts_.batch, sp.max_new_tokens);
    for (size_t k = 0; k < pairs.size(); ++k) {
      std::vector<const trainer::ReadChain*> cs;
      for (const auto& c : ind[k].chains) cs.push_back(&c);
      out[k].ind = mean_of_chains(cs);
    }
    t.ind_s = since(t0);
  } else {
    const size_t per_call = static_cast<size_t>(std::max<int64_t>(1, opts_.batch));
    for (size_t s = 0; s < pairs.size(); s += per_call) {
      // A stop (SIGTERM/SIGUSR1) between generation batches (core/stop.h).
      core::throw_if_stop_requested("generation");
      score_with_neighbours(pairs, s, std::min(pairs.size(), s + per_call), own, seed, &out, &t);
    }
  }
  rm_.train(was_training);

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
    timing->decode_s += t.decode_s;
    timing->decode_steps += t.decode_steps;
    timing->own += t.own;
    timing->analysis += t.analysis;
    timing->pro += t.pro;
  }
  return out;
}

}  // namespace pgenrm::scaling
