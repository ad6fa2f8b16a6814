// Retrieval quality of Pro-n on PersonaWorld (docs/RESULTS.md, issue #8):
// which text of the reward model's chain, embedded how, retrieves
// neighbours of the query user's TRUE prototype.
//
//   bench_retrieval [--data DIR] [--checkpoint DIR] [--members N] [--queries N]
//                   [--analysis-pairs N] [--neighbours N] [--k N] [--cache FILE] [--full]
//
// Generates one greedy full chain (to <eos>) per member training pair (the
// first --analysis-pairs of each of the first --members users with a
// training pair) and per test pair (the first --queries), then for every
// variant — text selection × pooling × centring — builds k prototypes over
// the members (k-means, seeded) and reports the share of the --neighbours
// retrieved neighbours of each test pair's user that share its true
// prototype (scaling::same_prototype_rate; the user itself excluded), the
// same share for the plain n nearest members (no prototypes), and the
// adjusted Rand index of the prototypes against the truth. --cache keeps
// the generated chains (JSON) so a rerun only re-embeds. Also prints the
// prompt and chain lengths (tokens) used by the cost argument of
// docs/PERFORMANCE.md. Defaults: the demo world and reward model
// (runs/personaworld, runs/demo/model), 600 members, 1 analysis pair, 200
// test pairs; --full adds the Scenario and derivation lines, the whole
// chain, mean token embeddings and centring. Figures only; nothing is
// asserted.
#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/options.h"
#include "data/generate.h"
#include "data/io.h"
#include "data/lexicon.h"
#include "data/teacher.h"
#include "model/factory.h"
#include "model/generate.h"
#include "model/tokenizer.h"
#include "scaling/build.h"
#include "scaling/kmeans.h"
#include "trainer/rm_task.h"

using namespace pgenrm;
using nlohmann::json;

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Chains {
  std::vector<std::string> text;
  std::vector<int64_t> prompt_tokens, chain_tokens;
};

Chains greedy_chains(model::TransformerImpl& rm, const trainer::RmTask& task,
                     const std::vector<trainer::RmPrompt>& prompts, int64_t max_new) {
  Chains c;
  model::SampleParams sp;
  sp.temperature = 0;
  sp.stop_ids = {task.eos()};
  sp.pad_id = task.pad();
  rm.eval();
  for (size_t s = 0; s < prompts.size(); s += 32) {
    std::vector<std::vector<int64_t>> ids;
    int64_t longest = 0;
    for (size_t i = s; i < std::min(prompts.size(), s + 32); ++i) {
      ids.push_back(prompts[i].ids);
      longest = std::max<int64_t>(longest, prompts[i].ids.size());
    }
    sp.max_new_tokens = std::min<int64_t>(max_new, rm.config().max_seq_len - longest);
    auto g = model::generate(rm, ids, 1, sp);
    for (size_t r = 0; r < g.tokens.size(); ++r) {
      c.text.push_back(task.text(g.tokens[r]));
      c.prompt_tokens.push_back(ids[r].size());
      c.chain_tokens.push_back(g.tokens[r].size());
    }
  }
  return c;
}

json to_json(const Chains& c) {
  return {{"text", c.text}, {"prompt_tokens", c.prompt_tokens}, {"chain_tokens", c.chain_tokens}};
}
Chains from_json(const json& j) {
  Chains c;
  c.text = j["text"].get<std::vector<std::string>>();
  c.prompt_tokens = j["prompt_tokens"].get<std::vector<int64_t>>();
  c.chain_tokens = j["chain_tokens"].get<std::vector<int64_t>>();
  return c;
}

void length_stats(const char* what, std::vector<int64_t> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (auto x : v) sum += x;
  std::printf("  %-22s mean %6.1f  median %4lld  p90 %4lld  max %4lld  (n %zu)\n", what, sum / v.size(),
              static_cast<long long>(v[v.size() / 2]), static_cast<long long>(v[v.size() * 9 / 10]),
              static_cast<long long>(v.back()), v.size());
}

// Mean over real tokens of the token embeddings (no layers), unit rows.
at::Tensor embed_tokens_mean(model::TransformerImpl& m, const model::Tokenizer& tok, int64_t bos,
                             const std::vector<std::string>& texts) {
  at::NoGradGuard ng;
  std::vector<at::Tensor> rows;
  for (const auto& t : texts) {
    std::vector<int64_t> ids;
    if (bos >= 0) ids.push_back(bos);
    for (int32_t x : tok.encode(t)) ids.push_back(x);
    rows.push_back(m.model->embed_tokens(at::tensor(ids, at::kLong)).mean(0));
  }
  at::Tensor e = at::stack(rows).to(at::kFloat);
  return e / e.norm(2, 1, true).clamp_min(1e-12);
}

// Parsed criteria and weights of a chain's Part 2 ("1. name (w%)").
std::vector<std::pair<std::string, double>> criteria_weights(const std::string& chain) {
  static const std::regex re(R"((\d+)\. ([^()]+?) \((\d+)%\))");
  std::vector<std::pair<std::string, double>> out;
  const std::string s = scaling::criteria_text(chain);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it)
    out.emplace_back((*it)[2].str(), std::stod((*it)[3].str()) / 100.0);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "runs/personaworld", ckpt = "runs/demo/model", cache;
  size_t n_members = 600, n_queries = 200;
  int64_t analysis_pairs = 1, n_nb = 8, k = 6;
  bool full = false;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--full")) full = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--full")) --i;  // a flag without a value
    if (!std::strcmp(argv[i], "--data")) data_dir = argv[i + 1];
    if (!std::strcmp(argv[i], "--checkpoint")) ckpt = argv[i + 1];
    if (!std::strcmp(argv[i], "--members")) n_members = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--queries")) n_queries = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--analysis-pairs")) analysis_pairs = std::stol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--neighbours")) n_nb = std::stol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--k")) k = std::stol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--cache")) cache = argv[i + 1];
  }
  if (!std::filesystem::exists(ckpt + "/config.json") || !std::filesystem::exists(data_dir + "/pairs.jsonl")) {
    std::fprintf(stderr, "bench_retrieval: needs a world (%s) and a reward model (%s)\n", data_dir.c_str(),
                 ckpt.c_str());
    return 2;
  }
  core::Config cfg = core::load_config("configs/demo.yaml", {});
  data::Dataset ds = data::read_dataset(data_dir);
  data::read_world_json(data_dir + "/world.json", &ds);  // the users' true prototypes
  model::Tokenizer tok = model::Tokenizer::from_file(data_dir + "/tokenizer.json");
  core::ModelOptions mo = cfg.model;
  mo.hf_path = ckpt;
  model::Transformer rm = model::build_model(mo);
  const data::HistoryOptions hist = data::history_options(cfg.data);
  trainer::RmTask task(ds, tok, hist, cfg.model.max_seq_len - cfg.sample.max_new_tokens);
  const uint64_t seed = static_cast<uint64_t>(cfg.run.seed);

  auto users = scaling::member_candidates(ds);
  users.resize(std::min(users.size(), n_members));
  std::vector<trainer::RmPrompt> mprompts, qprompts;
  std::vector<size_t> owner;
  for (size_t u = 0; u < users.size(); ++u) {
    const auto& tp = ds.user_pairs(users[u], data::Split::kTrain);
    for (size_t j = 0; j < tp.size() && static_cast<int64_t>(j) < analysis_pairs; ++j) {
      mprompts.push_back(task.prompt(tp[j], data::PromptKind::kPsi, seed));
      owner.push_back(u);
    }
  }
  std::vector<size_t> test = ds.split_pairs(data::Split::kTest);
  test.resize(std::min(test.size(), n_queries));
  for (size_t i : test) qprompts.push_back(task.prompt(i, data::PromptKind::kPsi, seed));

  Chains mc, qc;
  const std::string key = ckpt + "|" + std::to_string(users.size()) + "|" + std::to_string(analysis_pairs) + "|" +
                          std::to_string(test.size());
  bool loaded = false;
  if (!cache.empty() && std::filesystem::exists(cache)) {
    json j = json::parse(std::ifstream(cache));
    if (j.value("key", "") == key) {
      mc = from_json(j["members"]);
      qc = from_json(j["queries"]);
      loaded = true;
      std::printf("chains from %s\n", cache.c_str());
    }
  }
  if (!loaded) {
    auto t0 = std::chrono::steady_clock::now();
    mc = greedy_chains(*rm, task, mprompts, cfg.sample.max_new_tokens);
    qc = greedy_chains(*rm, task, qprompts, cfg.sample.max_new_tokens);
    std::printf("generated %zu + %zu greedy chains in %.1f s\n", mc.text.size(), qc.text.size(), since(t0));
    if (!cache.empty()) {
      std::ofstream f(cache);
      f << json({{"key", key}, {"members", to_json(mc)}, {"queries", to_json(qc)}}).dump();
    }
  }
  std::printf("%zu members (%lld analysis pairs each at most, %zu chains), %zu test pairs, k = %lld, n = %lld\n",
              users.size(), static_cast<long long>(analysis_pairs), mc.text.size(), test.size(),
              static_cast<long long>(k), static_cast<long long>(n_nb));
  std::printf("lengths (tokens):\n");
  length_stats("member prompts", mc.prompt_tokens);
  length_stats("member chains", mc.chain_tokens);
  length_stats("test prompts", qc.prompt_tokens);
  length_stats("test chains", qc.chain_tokens);
  std::printf("example test chain:\n%s\n\n", qc.text.empty() ? "" : qc.text.front().c_str());

  std::vector<std::string> member_ids, query_users;
  for (size_t u : users) member_ids.push_back(ds.users[u].user_id);
  for (size_t i : test) query_users.push_back(ds.pairs[i].user_id);
  int64_t q_stated = 0;
  for (const auto& id : query_users) q_stated += !ds.users[ds.user_index(id)].stated.empty();
  std::printf("test pairs whose user states criteria: %lld of %zu\n", static_cast<long long>(q_stated), test.size());
  std::vector<int64_t> truth;
  for (const auto& id : member_ids) {
    const auto& u = ds.users[ds.user_index(id)];
    truth.push_back(u.truth ? u.truth->prototype : -1);
  }

  // Slot of each member chain within its member (0 = first analysis pair).
  std::vector<int64_t> slot(owner.size());
  for (size_t r = 0; r < owner.size(); ++r) slot[r] = r > 0 && owner[r] == owner[r - 1] ? slot[r - 1] + 1 : 0;
  std::map<std::string, int64_t> member_row;
  for (size_t i = 0; i < member_ids.size(); ++i) member_row[member_ids[i]] = static_cast<int64_t>(i);

  // How often a chain's Persona line names the true prototype's favourite
  // criterion first (PersonaWorld: each prototype has a distinct favourite).
  {
    data::World world = data::read_world_json(data_dir + "/world.json");
    std::map<std::string, int> by_adj;
    for (const auto& lex : data::criteria_lexicon())
      if (int c = world.criterion_index(std::string(lex.name)); c >= 0) by_adj[std::string(lex.adjective)] = c;
    // stated: -1 all users, 1 users who state criteria, 0 users who do not.
    auto rate = [&](const std::vector<std::string>& chains, const std::vector<std::string>& ids, int stated = -1) {
      int64_t hit = 0, n = 0;
      for (size_t i = 0; i < chains.size(); ++i) {
        const auto& u = ds.users[ds.user_index(ids[i])];
        if (!u.truth) continue;
        if (stated >= 0 && static_cast<int>(!u.stated.empty()) != stated) continue;
        const std::string p = scaling::part1_field(chains[i], "Persona:");
        const std::string first = p.substr(0, p.find_first_of(",;"));
        auto it = by_adj.find(first);
        hit += it != by_adj.end() && it->second == world.favourite[u.truth->prototype];
        ++n;
      }
      return n ? static_cast<double>(hit) / n : 0.0;
    };
    std::vector<std::string> mids;
    for (size_t r = 0; r < owner.size(); ++r) mids.push_back(member_ids[owner[r]]);
    std::printf("Persona line names the true prototype's favourite first: members %.3f (users who state criteria "
                "%.3f, who do not %.3f), test pairs %.3f",
                rate(mc.text, mids), rate(mc.text, mids, 1), rate(mc.text, mids, 0), rate(qc.text, query_users));
    const std::string tpath = data_dir + "/teacher.jsonl";
    if (std::filesystem::exists(tpath)) {
      std::vector<std::string> tc, tid;
      for (const auto& r : data::read_teacher_jsonl(tpath)) {
        tc.push_back(r.chain);
        tid.push_back(r.user_id);
      }
      std::printf(", teacher chains (train pairs) %.3f (%.3f / %.3f)", rate(tc, tid), rate(tc, tid, 1),
                  rate(tc, tid, 0));
    }
    std::printf("\n\n");
  }

  scaling::Embedder final_layer(*rm, tok, task.bos(), 64);
  // Member rows: the mean of a member's first `use` analyses, renormalised.
  auto per_member = [&](const at::Tensor& e, int64_t use) {
    at::Tensor sums = at::zeros({static_cast<int64_t>(users.size()), e.size(1)}, at::kFloat);
    std::vector<int64_t> rows, to;
    for (size_t r = 0; r < owner.size(); ++r)
      if (slot[r] < use) {
        rows.push_back(static_cast<int64_t>(r));
        to.push_back(static_cast<int64_t>(owner[r]));
      }
    sums.index_add_(0, at::tensor(to, at::kLong), e.index_select(0, at::tensor(rows, at::kLong)));
    return sums / sums.norm(2, 1, true).clamp_min(1e-12);
  };
  // with_self: a test user that is a member also brings its member row
  // (the analyses of its own training pairs): q = normalise(q + member).
  auto evaluate = [&](const std::string& name, const at::Tensor& chain_emb, at::Tensor qe, int64_t use,
                      bool centre, bool with_self) {
    at::Tensor me = per_member(chain_emb, use);
    if (centre) {
      at::Tensor mu = me.mean(0, true);
      me = me - mu;
      me = me / me.norm(2, 1, true).clamp_min(1e-12);
      qe = qe - mu;
      qe = qe / qe.norm(2, 1, true).clamp_min(1e-12);
    }
    if (with_self) {
      qe = qe.clone();
      for (size_t q = 0; q < test.size(); ++q) {
        auto it = member_row.find(query_users[q]);
        if (it == member_row.end()) continue;
        at::Tensor v = qe[q] + me[it->second];
        qe[q] = v / v.norm().clamp_min(1e-12);
      }
    }
    scaling::KMeansOptions ko;
    ko.k = k;
    ko.seed = seed;
    auto km = scaling::kmeans(me, ko);
    scaling::Prototypes p = scaling::make_prototypes(member_ids, me, km.centroids);
    std::vector<std::vector<std::string>> nbs, knn;
    at::Tensor sim = at::matmul(qe, me.t());  // [Q, N]
    for (size_t q = 0; q < test.size(); ++q) {
      nbs.emplace_back();
      for (int64_t m : p.neighbours(qe[q], n_nb, query_users[q])) nbs.back().push_back(member_ids[m]);
      knn.emplace_back();
      auto order = std::get<1>(sim[q].sort(0, true));
      for (int64_t r = 0; r < order.size(0) && static_cast<int64_t>(knn.back().size()) < n_nb; ++r) {
        const auto& id = member_ids[order[r].item<int64_t>()];
        if (id != query_users[q]) knn.back().push_back(id);
      }
    }
    auto [rate, cnt] = scaling::same_prototype_rate(ds, query_users, nbs);
    auto [krate, kcnt] = scaling::same_prototype_rate(ds, query_users, knn);
    // Split by whether the query user states criteria (PRISM-like) or not.
    std::vector<std::string> su[2];
    std::vector<std::vector<std::string>> sn[2];
    for (size_t q = 0; q < test.size(); ++q) {
      const int g = ds.users[ds.user_index(query_users[q])].stated.empty() ? 1 : 0;
      su[g].push_back(query_users[q]);
      sn[g].push_back(nbs[q]);
    }
    const double r_stated = scaling::same_prototype_rate(ds, su[0], sn[0]).first;
    const double r_none = scaling::same_prototype_rate(ds, su[1], sn[1]).first;
    std::printf("%-36s pairs %lld %-7s %-6s proto-retrieval %.3f (stated %.3f, none %.3f)  kNN %.3f  ARI %.3f  "
                "retained %.2f  (%lld)\n",
                name.c_str(), static_cast<long long>(use), centre ? "centred" : "raw",
                with_self ? "+own" : "chain", rate, r_stated, r_none, krate,
                scaling::adjusted_rand_index(truth, p.assign), km.retained(), static_cast<long long>(cnt));
    std::fflush(stdout);
  };
  std::vector<int64_t> uses = {1};
  if (analysis_pairs >= 2) uses.push_back(2);
  if (analysis_pairs > 2) uses.push_back(analysis_pairs);

  struct Sel {
    std::string name;
    std::function<std::string(const std::string&)> f;
    bool always;
  };
  std::vector<Sel> sels = {
      {"part1", [](const std::string& c) { return scaling::part1_text(c); }, true},
      {"persona", [](const std::string& c) { return scaling::analysis_text(c, scaling::AnalysisText::kPersona); },
       true},
      {"scenario", [](const std::string& c) { return scaling::part1_field(c, "Scenario:"); }, false},
      {"derivation", [](const std::string& c) { return scaling::part1_field(c, "Criteria derivation:"); }, false},
      {"criteria", [](const std::string& c) { return scaling::analysis_text(c, scaling::AnalysisText::kCriteria); },
       true},
      {"persona+criteria",
       [](const std::string& c) { return scaling::analysis_text(c, scaling::AnalysisText::kPersonaCriteria); },
       true},
      {"whole chain", [](const std::string& c) { return c; }, false},
  };
  for (const auto& s : sels) {
    if (!s.always && !full) continue;
    std::vector<std::string> mt, qt;
    for (const auto& c : mc.text) mt.push_back(s.f(c));
    for (const auto& c : qc.text) qt.push_back(s.f(c));
    at::Tensor me = final_layer.embed(mt), qe = final_layer.embed(qt);
    for (int64_t use : uses)
      for (bool with_self : {false, true}) evaluate(s.name + " / final layer", me, qe, use, false, with_self);
    if (!full) continue;
    evaluate(s.name + " / final layer", me, qe, uses.back(), true, false);
    at::Tensor te = embed_tokens_mean(*rm, tok, task.bos(), mt), tq = embed_tokens_mean(*rm, tok, task.bos(), qt);
    for (bool centre : {false, true}) evaluate(s.name + " / token embeddings", te, tq, uses.back(), centre, false);
  }
  if (full) {
    // Criterion names weighted by their stated weights: Σ w_c · emb(name_c).
    std::map<std::string, at::Tensor> name_emb;
    auto weighted = [&](const std::vector<std::string>& chains) {
      std::vector<at::Tensor> rows;
      for (const auto& c : chains) {
        at::Tensor v = at::zeros({final_layer.dim()}, at::kFloat);
        for (const auto& [n, w] : criteria_weights(c)) {
          if (!name_emb.count(n)) name_emb[n] = final_layer.embed({n})[0];
          v += w * name_emb[n];
        }
        rows.push_back(v);
      }
      at::Tensor e = at::stack(rows);
      return e / e.norm(2, 1, true).clamp_min(1e-12);
    };
    at::Tensor me = weighted(mc.text), qe = weighted(qc.text);
    evaluate("criteria names × weights (final)", me, qe, uses.back(), false, false);
  }
  // Not the chain: the user's preference direction from its labelled pairs,
  // mean over pairs of e(chosen) − e(rejected) (e = the same embedder on the
  // response text). Members: their first `use` training pairs; a query: the
  // history its prompt shows (the seeded draw), "+own" adds its member row.
  for (int pool = 0; pool < 2; ++pool) {
    auto emb_texts = [&](const std::vector<std::string>& t) {
      return pool == 0 ? final_layer.embed(t) : embed_tokens_mean(*rm, tok, task.bos(), t);
    };
    std::map<const data::Pair*, at::Tensor> diff;
    auto pair_diff = [&](const std::vector<const data::Pair*>& ps) {
      std::vector<std::string> t;
      std::vector<const data::Pair*> todo;
      for (const auto* p : ps)
        if (!diff.count(p)) {
          todo.push_back(p);
          t.push_back(p->chosen);
          t.push_back(p->rejected);
        }
      if (!todo.empty()) {
        at::Tensor e = emb_texts(t).reshape({static_cast<int64_t>(todo.size()), 2, -1});
        for (size_t i = 0; i < todo.size(); ++i) diff[todo[i]] = e[i][0] - e[i][1];
      }
    };
    std::vector<const data::Pair*> mp;
    for (size_t u = 0; u < users.size(); ++u) {
      const auto& tp = ds.user_pairs(users[u], data::Split::kTrain);
      for (size_t j = 0; j < tp.size() && static_cast<int64_t>(j) < analysis_pairs; ++j) mp.push_back(&ds.pairs[tp[j]]);
    }
    std::vector<data::History> qh;
    std::vector<const data::Pair*> all = mp;
    for (size_t i : test) {
      qh.push_back(task.history(i, seed));
      all.insert(all.end(), qh.back().begin(), qh.back().end());
    }
    pair_diff(all);
    std::vector<at::Tensor> mrows, qrows;
    for (const auto* p : mp) mrows.push_back(diff.at(p));
    for (const auto& h : qh) {
      at::Tensor v = at::zeros({mrows.front().size(0)}, at::kFloat);
      for (const auto* p : h) v += diff.at(p);
      qrows.push_back(v / v.norm().clamp_min(1e-12));
    }
    at::Tensor me = at::stack(mrows), qe = at::stack(qrows);
    const std::string name = pool == 0 ? "history chosen−rejected / final" : "history chosen−rejected / tokens";
    for (int64_t use : uses)
      for (bool with_self : {false, true}) evaluate(name, me, qe, use, false, with_self);
    evaluate(name, me, qe, uses.back(), true, false);
  }
  // Reference: the parsed Part-2 weights as a vector over the criteria names
  // (what the teacher-weight test embeds; needs a closed vocabulary).
  {
    std::map<std::string, int64_t> idx;
    auto onehot = [&](const std::vector<std::string>& chains) {
      std::vector<float> flat;
      for (const auto& c : chains) {
        std::vector<float> v(64, 0.0f);
        for (const auto& [n, w] : criteria_weights(c)) {
          auto it = idx.emplace(n, static_cast<int64_t>(idx.size())).first;
          if (it->second < 64) v[it->second] += static_cast<float>(w);
        }
        flat.insert(flat.end(), v.begin(), v.end());
      }
      at::Tensor e = at::tensor(flat, at::kFloat).reshape({static_cast<int64_t>(chains.size()), 64});
      return e / e.norm(2, 1, true).clamp_min(1e-12);
    };
    at::Tensor me = onehot(mc.text), qe = onehot(qc.text);
    for (int64_t use : uses)
      for (bool with_self : {false, true})
        evaluate("parsed weights vector (reference)", me, qe, use, false, with_self);
  }
  return 0;
}
