#include "scaling/build.h"

#include <ATen/ATen.h>

#include <cmath>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "scaling/scorer.h"

namespace pgenrm::scaling {

std::vector<size_t> member_candidates(const data::Dataset& ds) {
  std::vector<size_t> out;
  for (size_t u = 0; u < ds.users.size(); ++u)
    if (!ds.user_pairs(u, data::Split::kTrain).empty()) out.push_back(u);
  return out;
}

MemberAnalyses member_analyses(model::TransformerImpl& rm, const trainer::RmTask& task, const Embedder& embedder,
                               const std::vector<size_t>& users, const AnalysisOptions& o) {
  const auto& ds = task.dataset();
  std::vector<trainer::RmPrompt> prompts;
  std::vector<size_t> owner;
  for (size_t k = 0; k < users.size(); ++k) {
    const auto& tp = ds.user_pairs(users[k], data::Split::kTrain);
    PGENRM_CHECK(!tp.empty(), "user " + ds.users[users[k]].user_id + " has no training pair to analyse",
                 "members are users with training pairs (member_candidates)");
    for (size_t j = 0; j < tp.size() && static_cast<int64_t>(j) < o.analysis_pairs; ++j) {
      prompts.push_back(task.prompt(tp[j], o.kind, o.seed));
      owner.push_back(k);
    }
  }
  PGENRM_LOG_INFO("prototypes: analysing ", users.size(), " users (", prompts.size(), " greedy chains, analysis text '", to_string(o.text), "')");
  std::vector<std::string> texts = greedy_analyses(rm, task, prompts, o.batch, o.max_new_tokens, o.text);
  at::Tensor e = embedder.embed(texts);
  MemberAnalyses m;
  at::Tensor sums = at::zeros({static_cast<int64_t>(users.size()), e.size(1)}, at::kFloat);
  sums.index_add_(0, at::tensor(std::vector<int64_t>(owner.begin(), owner.end()), at::kLong), e);
  m.emb = sums / sums.norm(2, 1, true).clamp_min(1e-12);
  m.example_text.resize(users.size());
  for (size_t r = texts.size(); r-- > 0;) m.example_text[owner[r]] = texts[r];
  for (size_t u : users) m.user_ids.push_back(ds.users[u].user_id);
  return m;
}

RefineData refine_data(const trainer::RmTask& task, const Embedder& embedder, const Prototypes& protos,
                       const std::vector<size_t>& pairs, const data::HistoryOptions& opts, uint64_t seed) {
  const auto& ds = task.dataset();
  std::map<std::string, int64_t> member;
  for (size_t i = 0; i < protos.member_ids.size(); ++i) member[protos.member_ids[i]] = static_cast<int64_t>(i);
  // Every pair that appears (as a sample or in a history) is embedded once.
  std::map<const data::Pair*, int64_t> slot;
  std::vector<const data::Pair*> table;
  std::vector<data::History> hists;
  auto add = [&](const data::Pair* p) {
    if (slot.emplace(p, static_cast<int64_t>(table.size())).second) table.push_back(p);
  };
  for (size_t i : pairs) {
    add(&ds.pairs[i]);
    hists.push_back(data::sample_history(ds, ds.pairs[i], opts, seed));
    for (const auto* h : hists.back()) add(h);
  }
  std::vector<std::string> texts;
  for (const auto* p : table) {
    texts.push_back(p->query());
    texts.push_back(p->chosen);
    texts.push_back(p->rejected);
  }
  at::Tensor e = embedder.embed(texts).reshape({static_cast<int64_t>(table.size()), 3, -1});  // [P,3,d]
  const int64_t M = static_cast<int64_t>(pairs.size()), d = e.size(2);
  const int64_t h = std::max<int64_t>(0, opts.h);
  RefineData r;
  std::vector<int64_t> self(M), users(M);
  at::Tensor hist_idx = at::zeros({M, h}, at::kLong);
  r.hist_mask = at::zeros({M, h}, at::kBool);
  for (int64_t k = 0; k < M; ++k) {
    const data::Pair& p = ds.pairs[pairs[k]];
    auto it = member.find(p.user_id);
    PGENRM_CHECK(it != member.end(), "user " + p.user_id + " is not a prototype member",
                 "refine with pairs of the members the prototypes were built from");
    users[k] = it->second;
    self[k] = slot.at(&p);
    for (size_t t = 0; t < hists[k].size() && static_cast<int64_t>(t) < h; ++t) {
      hist_idx[k][t] = slot.at(hists[k][t]);
      r.hist_mask[k][t] = true;
    }
  }
  at::Tensor s = e.index_select(0, at::tensor(self, at::kLong));
  r.q = s.select(1, 0).contiguous();
  r.yp = s.select(1, 1).contiguous();
  r.yn = s.select(1, 2).contiguous();
  r.hist = e.index_select(0, hist_idx.reshape({-1})).reshape({M, h, 3, d});
  r.user_emb = protos.member_emb.index_select(0, at::tensor(users, at::kLong));
  return r;
}

std::pair<double, int64_t> same_prototype_rate(const data::Dataset& ds, const std::vector<std::string>& users,
                                               const std::vector<std::vector<std::string>>& neighbours) {
  int64_t same = 0, n = 0;
  auto proto = [&](const std::string& id) -> int {
    const auto& u = ds.users[ds.user_index(id)];
    return u.truth ? u.truth->prototype : -1;
  };
  for (size_t i = 0; i < users.size(); ++i) {
    const int a = proto(users[i]);
    if (a < 0) continue;
    for (const auto& nb : neighbours[i]) {
      const int b = proto(nb);
      if (b < 0) continue;
      same += a == b;
      ++n;
    }
  }
  return {n ? static_cast<double>(same) / n : std::nan(""), n};
}

}  // namespace pgenrm::scaling
