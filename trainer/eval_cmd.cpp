// `pgenrm eval`: one reward model or reference scorer on the run's test
// subset (trainer/pipeline.h declares it).
#include <iostream>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "data/scorers.h"
#include "model/factory.h"
#include "trainer/pipeline.h"
#include "trainer/rm_eval.h"
#include "trainer/run_setup.h"

namespace pgenrm::trainer {

using nlohmann::json;

int run_eval(const core::Config& cfg, const EvalRequest& req) {
  PGENRM_CHECK(req.checkpoint.empty() != req.scorer.empty(),
               "pgenrm eval needs exactly one of --checkpoint and --scorer",
               "e.g. --checkpoint runs/demo/model, or --scorer oracle");
  PGENRM_CHECK(req.pro == 0 && !req.scaling_table,
               "Pro-n and the scaling table are run by scaling::run_eval, not trainer::run_eval",
               "call scaling::run_eval (pgenrm eval does)");
  PGENRM_CHECK(req.ind >= 1, "--ind 0 needs --pro N (neighbours only)", "e.g. --ind 0 --pro 8");
  ensure_world(cfg);
  // A checkpoint directory holds its tokenizer.json: real data without one
  // in data.dir reads the checkpoint's (PersonaWorld always has its own).
  core::Config setup_cfg = cfg;
  if (!req.checkpoint.empty()) setup_cfg.model.hf_path = req.checkpoint;
  auto s = load_setup(setup_cfg);
  const auto seeds = eval_seeds(cfg);
  json report;
  if (!req.scorer.empty()) {
    std::unique_ptr<data::PairScorer> scorer;
    PGENRM_CHECK(s->has_world || req.scorer == "random",
                 "scorer '" + req.scorer + "' needs a PersonaWorld's ground truth and " + cfg.data.dir +
                     " holds a real dataset",
                 "on real data use --scorer random, or --checkpoint DIR");
    if (req.scorer == "oracle") scorer = data::make_oracle_scorer();
    if (req.scorer == "ceiling")
      scorer = data::make_posterior_scorer(s->world, *s->posterior, data::AttributeSource::kPerceived);
    if (req.scorer == "non_personalised") scorer = data::make_non_personalised_scorer(s->world);
    if (req.scorer == "random") scorer = data::make_random_scorer(cfg.run.seed);
    PGENRM_CHECK(scorer != nullptr, "unknown scorer '" + req.scorer + "'",
                 "use oracle, ceiling, non_personalised or random");
    report = evaluate_scorer(*scorer, *s->task, s->test_eval, seeds);
  } else {
    core::ModelOptions o = cfg.model;
    o.hf_path = req.checkpoint;
    o.lora_rank = 0;
    model::Transformer m = model::build_model(o);
    // PersonaWorld: exactly the world's vocabulary; real data: pretrained
    // models may pad their embedding beyond the tokenizer's ids.
    PGENRM_CHECK(s->has_world ? m->config().vocab_size == s->tok->vocab_size()
                              : m->config().vocab_size >= s->tok->vocab_size(),
                 "the model's vocabulary (" + std::to_string(m->config().vocab_size) +
                     ") is not the dataset tokenizer's (" + std::to_string(s->tok->vocab_size()) + ")",
                 "evaluate a model trained on this data.dir, or point data.dir at its world");
    const double temperature = req.ind > 1 ? cfg.eval.temperature : 0.0;
    report = evaluate_model(*m, *s->task, s->test_eval, eval_options(cfg, req.ind, temperature),
                            s->world_or_null());
  }
  // The oracle on the same pairs and seeds: the ceiling every number is
  // read against (PersonaWorld only: real pairs have no truth).
  if (s->has_world) {
    json oracle = evaluate_scorer(*data::make_oracle_scorer(), *s->task, s->test_eval, seeds);
    report["oracle_accuracy"] = oracle["accuracy"];
    for (auto& [name, g] : report["groups"].items())
      if (oracle["groups"].contains(name)) g["oracle_accuracy"] = oracle["groups"][name]["accuracy"];
  }
  report["seeds"] = seeds.size();
  const std::string text = report.dump(2) + "\n";
  if (req.out.empty()) {
    std::cout << text;
  } else {
    std::ofstream(req.out) << text;
    PGENRM_LOG_INFO("eval: accuracy ", report["accuracy"].get<double>(), " ± ", report["se"].get<double>(),
                    " over ", report["n_pairs"].get<int64_t>(), " pairs; report in ", req.out);
  }
  return 0;
}

}  // namespace pgenrm::trainer
