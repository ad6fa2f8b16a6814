#include "scaling/commands.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "data/generate.h"
#include "data/rng.h"
#include "data/scorers.h"
#include "model/factory.h"
#include "scaling/build.h"
#include "scaling/kmeans.h"
#include "scaling/refine.h"
#include "scaling/report.h"
#include "scaling/scorer.h"
#include "trainer/rm_eval.h"
#include "trainer/run_setup.h"

namespace pgenrm::scaling {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The reward model, the embedding model and what they need, loaded once.
struct Env {
  std::unique_ptr<trainer::Setup> setup;
  model::Transformer rm{nullptr}, embed_model{nullptr};
  std::unique_ptr<model::Tokenizer> embed_tok;
  std::unique_ptr<Embedder> embedder;
};

model::Transformer load_model(const core::Config& cfg, const std::string& dir) {
  core::ModelOptions o = cfg.model;
  o.hf_path = dir;
  o.lora_rank = 0;
  return model::build_model(o);
}

Env load_env(const core::Config& cfg, const std::string& checkpoint, bool need_rm) {
  Env e;
  trainer::ensure_world(cfg);
  e.setup = trainer::load_setup(cfg);
  if (!need_rm) return e;
  PGENRM_CHECK(!checkpoint.empty(), "this command needs --checkpoint DIR (the reward model)",
               "e.g. --checkpoint runs/demo/model");
  e.rm = load_model(cfg, checkpoint);
  PGENRM_CHECK(e.rm->config().vocab_size == e.setup->tok->vocab_size(),
               "the model's vocabulary (" + std::to_string(e.rm->config().vocab_size) +
                   ") is not the dataset tokenizer's (" + std::to_string(e.setup->tok->vocab_size()) + ")",
               "use a model trained on this data.dir, or point data.dir at its world");
  if (cfg.scaling.embed_model.empty()) {
    e.embedder = std::make_unique<Embedder>(*e.rm, *e.setup->tok, e.setup->task->bos(), cfg.scaling.embed_batch);
  } else {
    const std::string tj = (fs::path(cfg.scaling.embed_model) / "tokenizer.json").string();
    PGENRM_CHECK(fs::exists(tj), "the embedding model has no tokenizer.json: " + tj,
                 "point scaling.embed_model at an HF directory with its tokenizer");
    e.embed_model = load_model(cfg, cfg.scaling.embed_model);
    e.embed_tok = std::make_unique<model::Tokenizer>(model::Tokenizer::from_file(tj));
    int64_t bos = -1;
    for (const char* name : {"<bos>", "<|begin_of_text|>", "<s>"})
      if (auto id = e.embed_tok->token_to_id(name)) {
        bos = *id;
        break;
      }
    e.embedder = std::make_unique<Embedder>(*e.embed_model, *e.embed_tok, bos, cfg.scaling.embed_batch);
  }
  return e;
}

ScaledOptions scaled_options(const core::Config& cfg, int64_t ind, int64_t pro) {
  ScaledOptions o;
  o.ind = ind;
  o.pro = pro;
  o.c_self = cfg.scaling.c_self;
  o.c_pro = cfg.scaling.c_pro;
  o.analysis_text = parse_analysis_text(cfg.scaling.analysis_text);
  trainer::RmEvalOptions e = trainer::eval_options(cfg, std::max<int64_t>(1, ind), cfg.eval.temperature);
  o.sample = e.sample;
  o.batch = e.batch;
  o.pro_batch = e.batch;  // neighbour prompts per call (scorer.h)
  o.kind = e.kind;
  o.history = data::history_options(cfg.data);
  return o;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  PGENRM_CHECK(f.good(), "cannot write " + path, "check the directory exists and is writable");
  f << text;
}

// The chance rate of "same true prototype" for neighbours drawn at random
// from the members: Σ_p share_p².
double chance_same_prototype(const data::Dataset& ds, const std::vector<std::string>& ids) {
  std::map<int, double> count;
  double n = 0;
  for (const auto& id : ids) {
    const auto& u = ds.users[ds.user_index(id)];
    if (!u.truth) continue;
    count[u.truth->prototype] += 1;
    n += 1;
  }
  double s = 0;
  for (const auto& [p, c] : count) s += (c / n) * (c / n);
  return n > 0 ? s : std::nan("");
}

// Retrieval quality on the evaluated test pairs: greedy analyses, n
// neighbours each, share of the same true prototype.
json retrieval_check(Env& e, const core::Config& cfg, const Prototypes& p, int64_t n) {
  auto& s = *e.setup;
  const uint64_t seed = trainer::eval_seeds(cfg).front();
  std::vector<trainer::RmPrompt> prompts;
  for (size_t i : s.test_eval) prompts.push_back(s.task->prompt(i, scaled_options(cfg, 1, 0).kind, seed));
  auto texts = greedy_analyses(*e.rm, *s.task, prompts, cfg.eval.batch, cfg.sample.max_new_tokens);
  at::Tensor emb = e.embedder->embed(texts);
  std::vector<std::string> users;
  std::vector<std::vector<std::string>> nbs;
  for (size_t k = 0; k < s.test_eval.size(); ++k) {
    const auto& pair = s.ds.pairs[s.test_eval[k]];
    users.push_back(pair.user_id);
    nbs.emplace_back();
    for (int64_t m : p.neighbours(emb[k], n, pair.user_id)) nbs.back().push_back(p.member_ids[m]);
  }
  auto [rate, count] = same_prototype_rate(s.ds, users, nbs);
  json j = {{"neighbours", n}, {"test_pairs", s.test_eval.size()}, {"same_true_prototype", rate},
            {"neighbour_pairs", count}, {"chance", chance_same_prototype(s.ds, p.member_ids)}};
  // Users who state criteria (the model's Part 1 copies them) apart from
  // those who do not (it must infer them from the history).
  std::vector<std::string> su[2];
  std::vector<std::vector<std::string>> sn[2];
  for (size_t k = 0; k < users.size(); ++k) {
    const int g = s.ds.users[s.ds.user_index(users[k])].stated.empty() ? 1 : 0;
    su[g].push_back(users[k]);
    sn[g].push_back(nbs[k]);
  }
  for (int g = 0; g < 2; ++g) {
    auto [r, c] = same_prototype_rate(s.ds, su[g], sn[g]);
    j[g == 0 ? "stated_criteria" : "no_stated_criteria"] = {{"test_pairs", su[g].size()},
                                                            {"same_true_prototype", r}};
  }
  return j;
}

json truth_agreement(const data::Dataset& ds, const Prototypes& p) {
  std::vector<int64_t> truth, found;
  for (size_t i = 0; i < p.member_ids.size(); ++i) {
    const auto& u = ds.users[ds.user_index(p.member_ids[i])];
    if (!u.truth) continue;
    truth.push_back(u.truth->prototype);
    found.push_back(p.assign[i]);
  }
  if (truth.empty()) return json();
  return {{"adjusted_rand_index", adjusted_rand_index(truth, found)}, {"members_with_truth", truth.size()}};
}

}  // namespace

namespace {
// run.threads as `pgenrm train` applies it (0 = keep the default, one per core).
void apply_threads(const core::Config& cfg) {
  if (cfg.run.threads > 0) at::set_num_threads(static_cast<int>(cfg.run.threads));
}
}  // namespace

int run_eval(const core::Config& cfg, const trainer::EvalRequest& req) {
  apply_threads(cfg);
  if (req.pro == 0 && !req.scaling_table) return trainer::run_eval(cfg, req);
  PGENRM_CHECK(!req.checkpoint.empty() && req.scorer.empty(),
               "--pro and --scaling-table score with a reward model: pass --checkpoint DIR (not --scorer)",
               "e.g. pgenrm eval --checkpoint runs/demo/model --ind 16 --pro 8");
  Env e = load_env(cfg, req.checkpoint, true);
  auto& s = *e.setup;
  const std::string ppath = prototypes_path(cfg.scaling.prototypes, req.checkpoint);
  const Prototypes protos = Prototypes::load(ppath);
  // Queries are embedded as the members were (the prototypes record it).
  const std::string built_with = protos.info.value("analysis_text", std::string("part1"));
  if (built_with != cfg.scaling.analysis_text)
    PGENRM_LOG_WARN("prototypes were built with scaling.analysis_text = ", built_with, "; using that, not ",
                    cfg.scaling.analysis_text);
  PGENRM_LOG_INFO("eval: prototypes from ", ppath, " (k = ", protos.k(), ", ", protos.member_ids.size(), " members)");
  const auto seeds = trainer::eval_seeds(cfg);
  auto make = [&](int64_t ind, int64_t pro) {
    ScaledOptions so = scaled_options(cfg, ind, pro);
    so.analysis_text = parse_analysis_text(built_with);
    return ScaledScorer(*e.rm, *s.task, e.embedder.get(), &protos, so);
  };
  json oracle = trainer::evaluate_scorer(*data::make_oracle_scorer(), *s.task, s.test_eval, seeds);
  json report;
  std::string md;
  if (req.scaling_table) {
    json rows = scaling_table(paper_rows(), make, s.test_eval, seeds);
    md = table_markdown(rows);
    report = {{"rows", rows}, {"pairs", s.test_eval.size()}, {"seeds", seeds.size()},
              {"oracle_accuracy", oracle["accuracy"]}, {"temperature", cfg.eval.temperature},
              {"c_self", cfg.scaling.c_self}, {"c_pro", cfg.scaling.c_pro}, {"prototypes", ppath},
              {"k", protos.k()}, {"markdown", md}};
  } else {
    report = evaluate_scaled(make(req.ind, req.pro), s.test_eval, seeds);
    report["oracle_accuracy"] = oracle["accuracy"];
    report["seeds"] = seeds.size();
    report["prototypes"] = ppath;
  }
  const std::string text = report.dump(2) + "\n";
  if (req.out.empty()) {
    std::cout << (req.scaling_table ? md : text);
  } else {
    write_text(req.out, text);
    if (req.scaling_table) {
      const std::string mdp = fs::path(req.out).replace_extension(".md").string();
      write_text(mdp, md);
      std::cout << md;
      PGENRM_LOG_INFO("eval: scaling table in ", req.out, " and ", mdp);
    } else {
      PGENRM_LOG_INFO("eval: ", report["row"].get<std::string>(), " accuracy ", report["accuracy"].get<double>(),
                      " ± ", report["se"].get<double>(), "; report in ", req.out);
    }
  }
  return 0;
}

int run_prototypes(const core::Config& cfg, const PrototypesRequest& req) {
  apply_threads(cfg);
  const auto& sc = cfg.scaling;
  const std::string path = !req.out.empty() ? req.out : prototypes_path(sc.prototypes, req.checkpoint);
  if (req.action == "inspect") {
    Prototypes p = Prototypes::load(path);
    Env e = load_env(cfg, "", false);
    json j = p.info;
    j["k"] = p.k();
    j["dim"] = p.dim();
    j["members"] = p.member_ids.size();
    j["sizes"] = p.sizes();
    json agree = truth_agreement(e.setup->ds, p);
    if (!agree.is_null()) j["truth"] = agree;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (req.action == "build") {
    Env e = load_env(cfg, req.checkpoint, true);
    auto& s = *e.setup;
    AnalysisOptions ao;
    ao.analysis_pairs = sc.analysis_pairs;
    ao.seed = static_cast<uint64_t>(cfg.run.seed);
    ao.batch = cfg.eval.batch;
    ao.max_new_tokens = cfg.sample.max_new_tokens;
    ao.kind = scaled_options(cfg, 1, 0).kind;
    ao.text = parse_analysis_text(sc.analysis_text);
    MemberAnalyses m = member_analyses(*e.rm, *s.task, *e.embedder, member_candidates(s.ds), ao);
    KMeansOptions ko;
    ko.restarts = sc.restarts;
    ko.iters = sc.kmeans_iters;
    ko.seed = static_cast<uint64_t>(cfg.run.seed);
    auto report = retained_variance_report(m.emb, sc.k_candidates, ko);
    json rv = json::array();
    for (const auto& r : report) {
      rv.push_back({{"k", r.k}, {"retained", r.retained}, {"inertia", r.inertia}});
      PGENRM_LOG_INFO("prototypes: k = ", r.k, " retains ", r.retained, " of the variance");
    }
    ko.k = sc.k > 0 ? sc.k : pick_k(report, sc.retained_target);
    KMeansResult km = kmeans(m.emb, ko);
    Prototypes p = make_prototypes(m.user_ids, m.emb, km.centroids);
    p.info = {{"checkpoint", req.checkpoint}, {"embed_model", sc.embed_model.empty() ? req.checkpoint : sc.embed_model},
              {"analysis_pairs", sc.analysis_pairs}, {"analysis_text", sc.analysis_text}, {"k_rule", sc.k > 0 ? "scaling.k" : "retained_target"},
              {"retained_target", sc.retained_target}, {"retained_variance", rv}, {"retained", km.retained()},
              {"example_analysis", m.example_text.empty() ? "" : m.example_text.front()}};
    json agree = truth_agreement(s.ds, p);
    if (!agree.is_null()) p.info["truth"] = agree;
    p.info["retrieval"] = retrieval_check(e, cfg, p, 8);
    p.save(path);
    PGENRM_LOG_INFO("prototypes: k = ", p.k(), " over ", p.member_ids.size(), " members written to ", path);
    std::cout << p.info.dump(2) << "\n";
    return 0;
  }
  if (req.action == "refine") {
    Prototypes p = Prototypes::load(path);
    Env e = load_env(cfg, req.checkpoint, true);
    auto& s = *e.setup;
    // Every tenth member (by a hash of its id) is held out of training: the
    // loss on its pairs is the check that refinement generalises.
    std::set<std::string> held;
    for (const auto& id : p.member_ids)
      if (data::derive_seed(static_cast<uint64_t>(cfg.run.seed), "refine-holdout", id) % 10 == 0) held.insert(id);
    std::vector<size_t> train, heldout;
    for (size_t i : s.train) (held.count(s.ds.pairs[i].user_id) ? heldout : train).push_back(i);
    const data::HistoryOptions ho = data::history_options(cfg.data);
    const uint64_t seed = static_cast<uint64_t>(cfg.run.seed);
    PGENRM_LOG_INFO("prototypes: embedding ", train.size(), " training and ", heldout.size(), " held-out pairs");
    RefineData td = refine_data(*s.task, *e.embedder, p, train, ho, seed);
    RefineData hd = refine_data(*s.task, *e.embedder, p, heldout, ho, seed);
    RefineOptions ro;
    ro.rounds = sc.refine_rounds;
    ro.steps = sc.refine_steps;
    ro.batch = sc.refine_batch;
    ro.lr = sc.refine_lr;
    ro.lambda_q = sc.lambda_q;
    ro.lambda_s = sc.lambda_s;
    ro.rho = sc.rho;
    ro.lambda_cent = sc.lambda_cent;
    ro.lambda_tr = sc.lambda_tr;
    ro.seed = seed;
    RefineParams w = init_refine_params(p.dim(), seed);
    const double before_train = mean_pair_loss(p, w, td, ro), before_held = mean_pair_loss(p, w, hd, ro);
    RefineReport rr = refine(p, w, td, ro);
    const double after_train = mean_pair_loss(p, w, td, ro), after_held = mean_pair_loss(p, w, hd, ro);
    p.info["refine"] = {{"rounds", ro.rounds}, {"steps", ro.steps}, {"lr", ro.lr}, {"lambda_q", ro.lambda_q},
                        {"lambda_s", ro.lambda_s}, {"rho", ro.rho}, {"lambda_cent", ro.lambda_cent},
                        {"lambda_tr", ro.lambda_tr}, {"train_pairs", train.size()}, {"heldout_pairs", heldout.size()},
                        {"heldout_members", held.size()}, {"l_pair_train", {before_train, after_train}},
                        {"l_pair_heldout", {before_held, after_held}}, {"round_loss", rr.round_loss},
                        {"moved", rr.moved}};
    json agree = truth_agreement(s.ds, p);
    if (!agree.is_null()) p.info["truth"] = agree;
    p.info["retrieval"] = retrieval_check(e, cfg, p, 8);
    p.save(path);
    PGENRM_LOG_INFO("prototypes: refined; L_pair held-out ", before_held, " -> ", after_held, "; written to ", path);
    std::cout << p.info.dump(2) << "\n";
    return 0;
  }
  throw Error("unknown prototypes action '" + req.action + "'", "use build, refine or inspect");
}

}  // namespace pgenrm::scaling
