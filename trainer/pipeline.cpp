#include "trainer/pipeline.h"
#include "comm/world.h"
#include "trainer/data_parallel.h"
#include "trainer/run_checkpoint.h"
#include "trainer/run_setup.h"

#include <ATen/ATen.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <optional>
#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chain/rewards.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/progress.h"
#include "core/stop.h"
#include "checkpoint/checkpoint.h"
#include "data/generate.h"
#include "data/io.h"
#include "data/posterior.h"
#include "data/scorers.h"
#include "data/teacher.h"
#include "model/factory.h"
#include "model/hf_io.h"
#include "trainer/bt.h"
#include "trainer/curriculum.h"
#include "trainer/grpo_stage.h"
#include "trainer/grpo_rewards.h"
#include "trainer/rollout_link.h"
#include "trainer/rollout_roles.h"
#include "rollout/protocol.h"
#include "trainer/rm_eval.h"
#include "trainer/sft.h"

namespace pgenrm::trainer {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Every stage starts from its own fixed seed, so where a run stands never
// depends on what ran before it in this process (a cached stage 0, a
// resumed run).
void seed_stage(const core::Config& cfg, const std::string& stage) {
  at::manual_seed(static_cast<uint64_t>(cfg.run.seed) + 7919ULL * static_cast<uint64_t>(stage_index(stage)));
}

Snapshot snapshot(const std::string& stage, const torch::nn::Module* m, const model::ModelConfig& config) {
  Snapshot s;
  s.stage = stage;
  s.model = m;
  s.model_config_json = model::config_to_hf_json(config);
  return s;
}

// One training loop over token examples: Stage 0 and PSI share it. With a
// checkpointer (null: no checkpoints) it continues a resumed stage and saves
// as it goes; its data cursor is the epoch and the batches left in it.
void train_lm(model::TransformerImpl& m, const std::vector<SeqExample>& ex, int64_t steps,
              int64_t batch, const ScheduleSpec& sched, const core::Config& cfg, const std::string& stage,
              core::MetricsWriter& metrics, int64_t pad, RunCheckpointer* ck, const DataParallel& dp) {
  auto sync = dp.make_grad_sync(m.parameters());
  Learner learner(m.parameters(), sched, cfg.trainer.weight_decay, cfg.trainer.grad_clip, sync.get());
  m.train();
  std::vector<std::vector<int64_t>> batches;
  uint64_t epoch = 0;
  Snapshot snap = snapshot(stage, &m, m.config());
  snap.learner = &learner;
  snap.streams = [&] { return json{{"epoch", epoch}, {"left", batches.size()}}; };
  int64_t start = 0;
  if (ck && ck->position(stage) == StagePos::kCurrent && ck->stage_step() > 0) {
    ck->restore_model(m);
    ck->restore_step(learner, m);
    start = ck->stage_step();
    const json cur = ck->streams();
    epoch = cur.value("epoch", uint64_t{0});
    if (epoch > 0) {
      batches = length_bucketed_batches(ex, batch, 8, cfg.run.seed + epoch - 1);
      batches.resize(cur.value("left", size_t{0}));  // the loop takes them from the back
    }
  }
  core::Progress bar(stage, steps, core::parse_progress_mode(cfg.log.progress), cfg.log.interval_s, dp.is_root());
  auto t0 = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  for (int64_t step = start; step < steps; ++step) {
    if (batches.empty()) batches = length_bucketed_batches(ex, batch, 8, cfg.run.seed + epoch++);
    std::vector<int64_t> idx = batches.back();
    batches.pop_back();
    // Each loss is divided by the target tokens of the whole step (every
    // rank's share, known on every rank), and gradients are summed over the
    // ranks: N ranks × grad_accum micro-batches equal one big batch.
    int64_t step_tokens = 0;
    for (int64_t i : idx) step_tokens += static_cast<int64_t>(ex[i].target.size());
    const auto [b0, b1] = dp.shard(idx.size());
    std::vector<SeqExample> part;
    for (size_t k = b0; k < b1; ++k) part.push_back(ex[idx[k]]);
    const int64_t n_micro = std::min<int64_t>(cfg.trainer.grad_accum, static_cast<int64_t>(part.size()));
    std::vector<TokenBatch> micro;
    for (int64_t k = 0; k < n_micro; ++k) {
      const size_t a = part.size() * k / n_micro, e = part.size() * (k + 1) / n_micro;
      micro.push_back(collate({part.begin() + a, part.begin() + e}, pad));
      tokens += micro.back().ids_BT.numel();
    }
    StepStats st = learner.step([&](int64_t k) {
      at::Tensor loss = sft_loss_sum(m, micro[k]) / static_cast<double>(std::max<int64_t>(1, step_tokens));
      loss.backward();
      return loss.item<double>();
    }, n_micro);
    if (step % 10 == 0 || step + 1 == steps) {
      metrics.write(step, stage, {{"loss", st.loss}, {"grad_norm", st.grad_norm}, {"lr", st.lr},
                                  {"tokens_per_s", dp.sum(tokens) / std::max(1e-9, seconds_since(t0))}});
    }
    bar.update(step + 1, "loss " + std::to_string(st.loss).substr(0, 6));
    snap.stage_step = step + 1;
    if (ck) ck->after_step(snap);
  }
  bar.finish();
  if (ck) {
    snap.stage_step = steps;
    snap.trained = true;
    ck->save(snap);
  }
}

// Real data has no world text to pretrain on: the backbone is
// model.hf_path's pretrained weights, or a random initialisation (tests).
model::Transformer real_data_backbone(const core::Config& cfg, const Setup& s, json* row) {
  core::ModelOptions o = cfg.model;
  o.lora_rank = 0;
  if (o.hf_path.empty()) {
    PGENRM_LOG_WARN("stage 0: skipped (real data: no world text to pretrain on) and model.hf_path is not set: ",
                    "the reward model starts from a RANDOM initialisation and cannot read natural text; set ",
                    "model.hf_path to a pretrained model (e.g. Llama 3.1 / Qwen3) for a real run");
    (*row)["skipped"] = "real data; random initialisation (model.hf_path not set)";
  } else {
    PGENRM_LOG_INFO("stage 0: skipped (real data): starting from the pretrained weights in ", o.hf_path);
    (*row)["skipped"] = "real data; pretrained weights from " + o.hf_path;
  }
  seed_stage(cfg, "stage0");
  model::Transformer m = model::build_model(o, s.tok->vocab_size());
  PGENRM_CHECK(m->config().vocab_size >= s.tok->vocab_size(),
               "the model's vocabulary (" + std::to_string(m->config().vocab_size) + ") is smaller than the " +
                   "tokenizer's (" + std::to_string(s.tok->vocab_size()) + ", " + s.tokenizer_path + ")",
               "use the tokenizer.json of model.hf_path (remove data.dir/tokenizer.json, or copy the model's there)");
  (*row)["cached"] = false;
  return m;
}

// Stage 0: language modelling on world text, cached across runs.
model::Transformer stage0(const core::Config& cfg, Setup& s, core::MetricsWriter& metrics, json* row,
                          RunCheckpointer* ck, const DataParallel& dp) {
  if (!s.has_world) return real_data_backbone(cfg, s, row);
  const std::string key = world_key(cfg) + config_sections(cfg, {"model", "pretrain"}) +
                          "seed: " + std::to_string(cfg.run.seed) + "\n";
  const std::string dir = cfg.data.dir + "/stage0-" + hex(fnv1a(key));
  if (fs::exists(dir + "/model.safetensors")) {
    PGENRM_LOG_INFO("stage 0: reusing the pretrained backbone in ", dir);
    (*row)["cached"] = true;
    core::ModelOptions o = cfg.model;
    o.hf_path = dir;
    o.lora_rank = 0;
    return model::build_model(o);
  }
  seed_stage(cfg, "stage0");
  core::ModelOptions o = cfg.model;
  o.lora_rank = 0;
  model::Transformer m = model::build_model(o, s.tok->vocab_size());
  // Documents: what the world says — users' prompts with their histories;
  // evaluation chains as free text (their format, not the prompt → chain
  // map); and what the world's words mean: a response followed by the
  // attribute levels its words express, in the chain's score syntax. The
  // last is the analog of a pretrained LLM knowing what "concise" means; it
  // says nothing about any user's preferences.
  std::vector<SeqExample> docs;
  for (size_t k = 0; k < s.train.size(); ++k) {
    const size_t i = s.train[k];
    RmPrompt p = s.task->prompt(i, data::PromptKind::kPsi, cfg.run.seed + 77);
    docs.push_back({{s.task->bos()}, std::vector<int64_t>(p.ids.begin() + 1, p.ids.end())});
    for (int r = 0; r < 2; ++r) {
      const std::string& text = s.ds.pairs[i].response(r);
      const std::vector<double> a = data::perceive_attributes(s.world, text);
      // Tokens the chains and prompts already use, so nothing maps to <unk>.
      std::string doc = "Response 1: " + text + " B. Scoring Breakdown: Response 1:";
      for (int c = 0; c < s.world.num_criteria(); ++c)
        doc += " " + s.world.criteria[c] + " " +
               std::to_string(static_cast<int>(std::clamp(std::round(a[c]), 1.0, 10.0))) + "/10";
      docs.push_back({{s.task->bos()}, s.task->target(doc)});
    }
  }
  for (const auto& r : s.teacher) docs.push_back({{s.task->bos()}, s.task->target(r.chain)});
  if (auto unk = s.tok->token_to_id("<unk>")) {
    int64_t n_unk = 0;
    for (const auto& d : docs) n_unk += std::count(d.target.begin(), d.target.end(), *unk);
    if (n_unk) PGENRM_LOG_WARN("stage 0: ", n_unk, " unknown tokens in the documents");
  }
  auto t0 = std::chrono::steady_clock::now();
  ScheduleSpec sched{cfg.pretrain.lr, cfg.pretrain.warmup_steps, cfg.pretrain.steps, 0.1};
  train_lm(*m, docs, cfg.pretrain.steps, cfg.pretrain.batch_size, sched, cfg, "stage0", metrics,
           s.task->pad(), ck, dp);
  // Published by a rename: a run killed while writing leaves no cache that
  // a later run would take for complete.
  if (dp.is_root()) {
    const std::string tmp = dir + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(tmp);
    model::save_hf(*m, tmp, cfg.data.dir + "/tokenizer.json");
    fs::remove_all(dir);
    fs::rename(tmp, dir);
  }
  (*row)["cached"] = false;
  (*row)["wall_s"] = seconds_since(t0);
  (*row)["documents"] = docs.size();
  return m;
}

model::Transformer clone_model(model::TransformerImpl& m, const core::Config& cfg) {
  model::Transformer c(m.config());
  load_state(*c, hf_state(m), "in-memory copy");
  c->set_activation_checkpointing(cfg.model.activation_checkpointing);
  return c;
}

// Stage 1: SFT on the teacher's chains (PSI prompts).
void stage_psi(model::TransformerImpl& m, const core::Config& cfg, Setup& s, core::MetricsWriter& metrics,
               RunCheckpointer& ck) {
  std::vector<SeqExample> ex;
  const uint64_t world_seed = static_cast<uint64_t>(cfg.world.seed);
  for (const auto& r : s.teacher) {
    const size_t i = s.ds.pair_index(r.pair_id);
    // The teacher wrote for exactly this history and order (world seed);
    // on real data, for the history and order its record names.
    RmPrompt p = s.has_world ? s.task->prompt(i, data::PromptKind::kPsi, world_seed)
                             : s.task->prompt(r, data::PromptKind::kPsi);
    ex.push_back({p.ids, s.task->target(r.chain)});
  }
  ScheduleSpec sched{cfg.trainer.lr, cfg.trainer.warmup_steps, cfg.sft.steps, cfg.trainer.min_lr_ratio};
  train_lm(m, ex, cfg.sft.steps, cfg.trainer.batch_size, sched, cfg, "psi", metrics, s.task->pad(), &ck,
           ck.dp());
}

GrpoStageConfig grpo_config(const core::Config& cfg) {
  GrpoStageConfig g;
  g.knobs.clip_low = cfg.grpo.clip_low;
  g.knobs.clip_high = cfg.grpo.clip_high;
  g.knobs.kl_coef = cfg.grpo.kl_coef;
  g.knobs.agg = cfg.grpo.agg;
  g.knobs.std_norm = cfg.grpo.std_norm;
  g.knobs.drop_zero_var = cfg.grpo.drop_zero_var;
  g.group_size = cfg.grpo.group_size;
  g.ppo_epochs = cfg.grpo.ppo_epochs;
  g.micro_batch = cfg.grpo.micro_batch;
  g.sample.temperature = cfg.grpo.temperature;
  g.sample.top_p = cfg.grpo.top_p;
  g.sample.top_k = cfg.sample.top_k;
  g.sample.max_new_tokens = cfg.sample.max_new_tokens;
  return g;
}

// Stages 2 and 3: GRPO. `curriculum` = false → CRE reward and uniform
// prompts; true → outcome reward and the hard-negative schedule. With
// `link` the chains come from rollout workers (trainer/rollout_link.h):
// on-policy (grpo.max_staleness 0: step s is generated from the weights
// after step s−1, exactly the chains the learners would sample) or one
// step off (1: step s+1 is generated while step s trains).
void stage_grpo(model::TransformerImpl& m, model::TransformerImpl* ref, const core::Config& cfg, Setup& s,
                bool curriculum, core::MetricsWriter& metrics, RunCheckpointer& ck, RolloutLink* link,
                const std::string& run_dir) {
  const std::string stage = curriculum ? "curriculum" : "cre";
  const int64_t steps = curriculum ? cfg.curriculum.steps : cfg.grpo.steps;
  if (steps == 0) return;
  const DataParallel& dp = ck.dp();
  auto sync = dp.make_grad_sync(m.parameters());
  Learner learner(m.parameters(), ScheduleSpec{cfg.grpo.lr, cfg.grpo.warmup_steps, steps, 1.0},
                  cfg.trainer.weight_decay, cfg.trainer.grad_clip, sync.get());
  GrpoStageConfig gcfg = grpo_config(cfg);
  // A chain ends at <eos>: nothing after it is sampled or trained on.
  gcfg.sample.stop_ids = {s.task->eos()};
  gcfg.sample.pad_id = s.task->pad();
  apply_score_decoding(cfg, *s.task, &gcfg.sample);
  GrpoStage grpo(m, ref, learner, gcfg, &dp);
  const RewardKnobs knobs{curriculum, cfg.grpo.alpha, cfg.grpo.beta, cfg.grpo.pr_target == "truth"};
  const data::PromptKind prompt_kind = cfg.grpo.prompt == "psi" ? data::PromptKind::kPsi : data::PromptKind::kCre;
  std::vector<bool> hard;
  for (size_t i : s.train) hard.push_back(s.ds.pairs[i].hard_negative);
  if (curriculum && !s.has_world && dp.is_root())
    PGENRM_LOG_INFO("curriculum: real pairs carry no population hard negatives (hard_negative is false for every ",
                    "pair), so curriculum.hard = ", cfg.curriculum.hard,
                    cfg.curriculum.hard == "population"
                        ? " has an empty hard pool and draws every prompt uniformly; set curriculum.hard: "
                          "low_accuracy (pairs the model got wrong at their last visit)"
                        : ": hard = pairs the model got wrong at their last visit");
  CurriculumSpec spec{cfg.curriculum.p0, cfg.curriculum.p1, cfg.curriculum.schedule, 4, steps,
                      cfg.curriculum.hard, 0.5};
  // CRE samples prompts uniformly below; the sampler then only tracks accuracies.
  CurriculumSampler sampler(s.train, hard, spec, cfg.run.seed + (curriculum ? 303 : 202));
  uint64_t uniform_state = cfg.run.seed * 2654435761ULL + 17;
  Snapshot snap = snapshot(stage, &m, m.config());
  snap.learner = &learner;
  snap.reference = ref;
  snap.streams = [&] { return json{{"uniform_state", uniform_state}, {"sampler", sampler.state_text()}}; };
  int64_t start = 0;
  if (ck.position(stage) == StagePos::kCurrent && ck.stage_step() > 0) {
    ck.restore_step(learner, m);  // the model and reference are restored by the caller
    start = ck.stage_step();
    const json cur = ck.streams();
    uniform_state = cur.at("uniform_state").get<uint64_t>();
    sampler.restore_state(cur.at("sampler").get<std::string>());
  }

  // A step's prompts: the items drawn for it and their prompts.
  struct Batch {
    std::vector<GrpoPrompt> prompts;
    std::vector<RmPrompt> meta;
    std::vector<uint64_t> prompt_seeds;
    double realised = 0;
    uint64_t seed = 0;
    std::vector<uint64_t> ids;  // work items at the coordinator
  };
  auto draw = [&](int64_t step) {
    Batch b;
    std::vector<size_t> items;
    if (curriculum) {
      items = sampler.batch(step, cfg.grpo.prompts_per_step, &b.realised);
    } else {
      for (int64_t k = 0; k < cfg.grpo.prompts_per_step; ++k) {
        uniform_state = uniform_state * 6364136223846793005ULL + 1442695040888963407ULL;
        items.push_back(s.train[(uniform_state >> 33) % s.train.size()]);
      }
      for (size_t i : items) b.realised += s.ds.pairs[i].hard_negative;
      b.realised /= static_cast<double>(items.size());
    }
    b.seed = cfg.run.seed * 1000003ULL + step + (curriculum ? 500000 : 0);
    for (size_t i : items) {
      b.prompt_seeds.push_back(b.seed + i);
      b.meta.push_back(s.task->prompt(i, prompt_kind, b.seed + i));
      b.prompts.push_back({static_cast<int64_t>(b.meta.size() - 1), b.meta.back().ids});
    }
    return b;
  };
  // Sends a step's prompts to the rollout workers; `min_version`: the
  // weights they must at least hold.
  auto submit = [&](Batch& b, uint64_t sample_step) {
    std::vector<rollout::Request> reqs;
    std::vector<std::string> users;
    for (size_t k = 0; k < b.meta.size(); ++k) {
      rollout::Request q;
      q.stage = stage;
      q.prompt = cfg.grpo.prompt;
      q.step = static_cast<int64_t>(sample_step);
      q.index = static_cast<int64_t>(k);
      q.pair = static_cast<int64_t>(b.meta[k].pair);
      q.prompt_seed = b.prompt_seeds[k];
      q.prompt_hash = rollout::hash_ids(b.meta[k].ids);
      q.seed = b.seed;
      q.group = gcfg.group_size;
      q.temperature = gcfg.sample.temperature;
      q.top_p = gcfg.sample.top_p;
      q.top_k = gcfg.sample.top_k;
      q.max_new_tokens = gcfg.sample.max_new_tokens;
      q.pad_id = gcfg.sample.pad_id;
      q.stop_ids = gcfg.sample.stop_ids;
      q.min_version = link->version();
      reqs.push_back(q);
      users.push_back(s.ds.pairs[b.meta[k].pair].user_id);
    }
    b.ids = link->submit(reqs, users);
  };

  core::Progress bar(stage, steps, core::parse_progress_mode(cfg.log.progress), cfg.log.interval_s, dp.is_root());
  const bool async = link && cfg.grpo.max_staleness >= 1;
  std::optional<Batch> next;  // submitted ahead (one step off)
  for (int64_t step = start; step < steps; ++step) {
    Batch b;
    std::map<std::string, double> mtr;
    if (!link) {
      b = draw(step);
      RewardFn reward = [&](int64_t item, const std::vector<std::vector<int64_t>>& comps) {
        std::vector<ChainReward> out = chain_rewards(s, knobs, b.meta[item], b.prompt_seeds[item], comps);
        double correct = 0;
        for (const auto& c : out) correct += c.outcome > 0.5;
        sampler.record_accuracy(b.meta[item].pair, correct / comps.size());
        return out;
      };
      mtr = grpo.step(b.prompts, reward, b.seed);
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      const int64_t v_now = link->publish(m);  // no-op for workers that hold it already
      if (next) {
        b = std::move(*next);
        next.reset();
      } else {
        b = draw(step);
        submit(b, grpo.sample_step());
      }
      const std::vector<rollout::Result> res = link->collect(b.ids, gcfg.group_size);
      RolloutBatch rb;
      double staleness = 0;
      for (size_t k = 0; k < res.size(); ++k) {
        double correct = 0;
        for (const auto& c : res[k].chains) {
          rb.tokens.push_back(c.tokens);
          rb.logprobs.push_back(c.logprobs);
          rb.rewards.push_back(ChainReward{c.reward, c.outcome, c.process, c.format_error});
          correct += c.outcome > 0.5;
        }
        sampler.record_accuracy(b.meta[k].pair, correct / res[k].chains.size());
        rb.prompt_tokens += res[k].prompt_tokens;
        rb.generated_tokens += res[k].generated_tokens;
        staleness += static_cast<double>(v_now - res[k].version);
      }
      // One step off: the next step's chains are generated from these
      // weights while this step trains.
      if (async && step + 1 < steps) {
        next = draw(step + 1);
        submit(*next, grpo.sample_step() + static_cast<uint64_t>(gcfg.ppo_epochs));
      }
      const double wait_s = seconds_since(t0);
      mtr = grpo.step_with_rollouts(b.prompts, rb, /*behaviour_from_rollout=*/async, wait_s);
      mtr["staleness"] = res.empty() ? 0 : staleness / static_cast<double>(res.size());
      mtr["weights_version"] = static_cast<double>(v_now);
    }
    mtr["hard_negative_share"] = b.realised;
    if (curriculum) mtr["hard_negative_target"] = hard_share_at(spec, step);
    metrics.write(step, stage, mtr);
    bar.update(step + 1, "reward " + std::to_string(mtr["reward_mean"]).substr(0, 5) + " or_acc " +
                             std::to_string(mtr["or_acc"]).substr(0, 5));
    snap.stage_step = step + 1;
    ck.after_step(snap);
  }
  if (next) {
    // Submitted for a step that will not run (the stage ended): collect so
    // the ledger balances, then drop.
    link->collect(next->ids, gcfg.group_size);
  }
  bar.finish();
  if (link && dp.is_root()) {
    const std::string ledger = link->ledger_json();
    PGENRM_LOG_INFO(stage, ": rollout ledger ", ledger);
    std::ofstream(run_dir + "/rollout_ledger.json") << ledger << "\n";
  }
  snap.stage_step = steps;
  snap.trained = true;
  ck.save(snap);
}

// Stage: Bradley–Terry baselines (scalar head on the stage-0 backbone).
std::string bt_text(const Setup& s, size_t i, int r, bool personalised, uint64_t seed) {
  const data::Pair& p = s.ds.pairs[i];
  std::string out;
  if (personalised) {
    const data::User& u = s.ds.user_of(p);
    out += "Stated criteria: " + data::stated_criteria_text(u) + "\n";
    out += data::history_text(s.task->history(i, seed));
  }
  return out + "Query: " + p.query() + "\nResponse: " + p.response(r);
}

SeqExample bt_example(const Setup& s, size_t i, int r, bool personalised, uint64_t seed, int64_t max_len) {
  std::vector<int32_t> ids = s.tok->encode(bt_text(s, i, r, personalised, seed));
  const int64_t keep = std::min<int64_t>(ids.size(), max_len - 1);
  SeqExample e;
  e.prompt.push_back(s.task->bos());
  e.prompt.insert(e.prompt.end(), ids.end() - keep, ids.end());
  return e;
}

json stage_bt(model::TransformerImpl& backbone, const core::Config& cfg, Setup& s, bool personalised,
              core::MetricsWriter& metrics, RunCheckpointer& ck) {
  const std::string stage = personalised ? "bt_history" : "bt_non_personalised";
  seed_stage(cfg, stage);  // the head's initialisation
  BtModel bt{clone_model(backbone, cfg)};
  bt->train();
  const DataParallel& dp = ck.dp();
  auto sync = dp.make_grad_sync(bt->parameters());
  Learner learner(bt->parameters(), ScheduleSpec{cfg.bt.lr, 10, cfg.bt.steps, 0.1},
                  cfg.trainer.weight_decay, cfg.trainer.grad_clip, sync.get());
  uint64_t st = cfg.run.seed + (personalised ? 11 : 13);
  const int64_t max_len = cfg.model.max_seq_len;
  Snapshot snap = snapshot(stage, bt.get(), backbone.config());
  snap.learner = &learner;
  snap.streams = [&] { return json{{"state", st}}; };
  int64_t start = 0;
  if (ck.position(stage) == StagePos::kCurrent && ck.stage_step() > 0) {
    ck.restore_model(*bt);
    ck.restore_step(learner, *bt);
    start = ck.stage_step();
    st = ck.streams().at("state").get<uint64_t>();
  }
  core::Progress bar(stage, cfg.bt.steps, core::parse_progress_mode(cfg.log.progress), cfg.log.interval_s,
                     dp.is_root());
  for (int64_t step = start; step < cfg.bt.steps; ++step) {
    // Every rank draws the whole batch and keeps its shard; its mean loss
    // is weighted by its share, and gradients are summed over the ranks.
    std::vector<SeqExample> c, r;
    const auto [b0, b1] = dp.shard(static_cast<size_t>(cfg.bt.batch_size));
    for (int64_t k = 0; k < cfg.bt.batch_size; ++k) {
      st = st * 6364136223846793005ULL + 1442695040888963407ULL;
      const size_t i = s.train[(st >> 33) % s.train.size()];
      if (static_cast<size_t>(k) < b0 || static_cast<size_t>(k) >= b1) continue;
      c.push_back(bt_example(s, i, 0, personalised, st, max_len));
      r.push_back(bt_example(s, i, 1, personalised, st, max_len));
    }
    const double share = static_cast<double>(c.size()) / static_cast<double>(cfg.bt.batch_size);
    double acc = 0;
    StepStats sts = learner.step([&](int64_t) {
      TokenBatch bc = collate(c, s.task->pad()), br = collate(r, s.task->pad());
      at::Tensor loss = bt_loss(*bt, bc, br, &acc) * share;
      loss.backward();
      return loss.item<double>();
    }, c.empty() ? 0 : 1);
    acc = dp.sum(acc * share);
    if (step % 10 == 0) metrics.write(step, stage, {{"loss", sts.loss}, {"train_acc", acc}, {"lr", sts.lr}});
    bar.update(step + 1);
    snap.stage_step = step + 1;
    ck.after_step(snap);
  }
  bar.finish();
  snap.stage_step = cfg.bt.steps;
  snap.trained = true;
  ck.save(snap);
  // Evaluate as a scorer over the same pairs and seeds as every stage.
  at::NoGradGuard ng;
  bt->eval();
  std::vector<PairOutcome> outcomes;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed : eval_seeds(cfg)) {
    for (size_t k = 0; k < s.test_eval.size(); k += 32) {
      std::vector<SeqExample> c, r;
      const size_t e = std::min(s.test_eval.size(), k + 32);
      for (size_t j = k; j < e; ++j) {
        c.push_back(bt_example(s, s.test_eval[j], 0, personalised, seed, max_len));
        r.push_back(bt_example(s, s.test_eval[j], 1, personalised, seed, max_len));
      }
      TokenBatch bc = collate(c, s.task->pad()), br = collate(r, s.task->pad());
      at::Tensor rc = bt->rewards(bc.ids_BT, bc.keep_BT), rr = bt->rewards(br.ids_BT, br.keep_BT);
      for (size_t j = k; j < e; ++j)
        outcomes.push_back({static_cast<int64_t>(j), static_cast<int64_t>(seed),
                            verdict_from_scores(rc[j - k].item<double>(), rr[j - k].item<double>()),
                            pair_groups(s.ds, s.ds.pairs[s.test_eval[j]])});
    }
  }
  EvalSummary sum = summarize(outcomes, report_groups());
  sum.wall_s = seconds_since(t0);
  return sum;
}

// Each row against the non-personalised Bradley–Terry baseline, paired over
// the same pairs and seeds: {"diff", "se"} under "vs_bt_non_personalised".
void add_paired_comparisons(json& rows) {
  const json* base = nullptr;
  for (const auto& r : rows)
    if (r.value("row", "") == "BT non-personalised" && r.contains("pair_accuracy")) base = &r;
  if (!base) return;
  const auto b = (*base)["pair_accuracy"].get<std::vector<double>>();
  for (auto& r : rows) {
    if (!r.contains("pair_accuracy") || &r == base) continue;
    const auto a = r["pair_accuracy"].get<std::vector<double>>();
    if (a.size() != b.size()) {
      // A run resumed with other eval.pairs: its rows are not over the same pairs.
      PGENRM_LOG_WARN("row '", r.value("row", ""), "' was evaluated on ", a.size(), " pairs and the baseline on ",
                      b.size(), " (eval.pairs changed on resume): no paired comparison");
      r["vs_bt_non_personalised"] = {{"skipped", "evaluated on other pairs than the baseline"}};
      continue;
    }
    const PairedDiff d = paired_difference(a, b);
    r["vs_bt_non_personalised"] = {{"diff", d.diff}, {"se", d.se}, {"pairs", d.n}};
  }
}

void print_table(const json& rows) {
  std::cout << "\n| row | accuracy | ± SE | Δ vs BT non-pers. (paired SE) | ties | parse failures | stated | no criteria | cold start | warm | hard neg. |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : rows) {
    if (!r.contains("accuracy")) continue;
    auto g = [&](const char* name) -> std::string {
      if (!r.contains("groups") || !r["groups"].contains(name)) return "";
      std::ostringstream os;
      os << std::fixed << std::setprecision(3) << r["groups"][name]["accuracy"].get<double>();
      return os.str();
    };
    std::string vs;
    if (r.contains("vs_bt_non_personalised") && r["vs_bt_non_personalised"].contains("diff")) {
      std::ostringstream os;
      os << std::showpos << std::fixed << std::setprecision(3) << r["vs_bt_non_personalised"]["diff"].get<double>()
         << std::noshowpos << " (" << r["vs_bt_non_personalised"]["se"].get<double>() << ")";
      vs = os.str();
    }
    std::cout << std::fixed << std::setprecision(3) << "| " << r["row"].get<std::string>() << " | "
              << r["accuracy"].get<double>() << " | " << r["se"].get<double>() << " | " << vs << " | "
              << r.value("ties", 0) << " | " << r.value("parse_failures", 0) << " | "
              << g("stated_criteria") << " | " << g("no_criteria") << " | " << g("cold_start")
              << " | " << g("warm") << " | " << g("hard_negative") << " |\n";
  }
  std::cout << std::endl;
}


// A fresh run replaces an earlier one in the same run directory (as its
// results.json and model/ are replaced): its checkpoints would otherwise
// mix with the new run's.
void clear_old_checkpoints(const std::string& dir) {
  if (!fs::is_directory(dir)) return;
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) == 0) {
      fs::remove(e.path());
      ++n;
    }
  }
  if (n) PGENRM_LOG_WARN("starting fresh: removed ", n, " checkpoint files of an earlier run in ", dir,
                         " (pass --resume auto to continue a run instead)");
}

}  // namespace

// Everything after the job's layout is known: the pipeline on the
// learners, the rollout loop on rollout ranks.
static int run_job(const core::Config& cfg, const std::string& run_dir, const std::string& resume, comm::World& world,
            std::chrono::steady_clock::time_point t_start) {
  if (world.rank() == 0) {
    std::error_code ec;
    fs::remove(run_dir + "/coordinator.json", ec);  // an earlier run's: external workers wait for the new one
    ensure_world(cfg);
  }
  if (world.distributed()) world.world().barrier("data generation on rank 0");
  // Rollout ranks serve GRPO rollouts until the learners say stop.
  if (world.is_rollout()) return run_rollout_rank(cfg, world);
  const DataParallel dp(world.distributed() ? &world.learners() : nullptr, cfg.dist.bucket_mb);
  RunCheckpointer ck(cfg, run_dir, resume, dp);
  if (!ck.resuming() && dp.is_root()) clear_old_checkpoints(ck.dir());
  auto s = load_setup(cfg);
  std::unique_ptr<RolloutLink> link;
  if (uses_rollout_workers(cfg, world.n_rollouts())) link = std::make_unique<RolloutLink>(cfg, &world, dp, run_dir);
  if (!s->has_world) {
    // Real data: PSI's chains come from an LLM judge (checked before any
    // training); PR measures stated criteria only (trainer/grpo_rewards.h).
    if (cfg.sft.steps > 0) require_teacher(cfg, *s);
    PGENRM_CHECK(cfg.grpo.pr_target != "truth" || cfg.grpo.steps == 0,
                 "grpo.pr_target = truth needs PersonaWorld's ground truth", "use grpo.pr_target: stated on real data");
  }
  if (cfg.grpo.max_staleness > 0 && !link)
    PGENRM_LOG_WARN("grpo.max_staleness = ", cfg.grpo.max_staleness,
                    " has no effect without rollout workers (the learners' own rollouts are on-policy)");
  PGENRM_LOG_INFO("data: ", s->ds.users.size(), " users, ", s->train.size(), " train pairs, ",
                  s->teacher.size(), " teacher chains, evaluating ", s->test_eval.size(),
                  " test pairs × ", cfg.eval.seeds, " seeds; vocabulary ", s->tok->vocab_size());
  core::MetricsWriter metrics(dp.is_root() ? run_dir + "/metrics.jsonl" : "/dev/null");
  json& rows = ck.rows();
  auto add_row = [&](const std::string& name, json r) {
    r["row"] = name;
    rows.push_back(r);
    if (dp.is_root()) std::ofstream(run_dir + "/results.json") << json{{"rows", rows}}.dump(2) << "\n";
    if (r.contains("accuracy"))
      PGENRM_LOG_INFO(name, ": accuracy ", r["accuracy"].get<double>(), " ± ", r["se"].get<double>());
  };
  // A boundary checkpoint: everything before `next` is done and in `rows`.
  auto boundary = [&](const std::string& next, const torch::nn::Module* m, const model::ModelConfig& c,
                      const torch::nn::Module* ref = nullptr) {
    Snapshot b = snapshot(next, m, c);
    b.reference = ref;
    ck.save(b);
  };

  model::Transformer rm{nullptr};
  try {
    // Reference scorers: what the world allows.
    const auto seeds = eval_seeds(cfg);
    if (!ck.resuming() && !s->has_world) {
      PGENRM_LOG_INFO("reference scorers: real data has no ground truth, so only random is evaluated (oracle, ",
                      "ceiling and the non-personalised scorer need a PersonaWorld)");
      add_row("random", evaluate_scorer(*data::make_random_scorer(cfg.run.seed), *s->task, s->test_eval, seeds));
    } else if (!ck.resuming()) {
      add_row("oracle (true weights)", evaluate_scorer(*data::make_oracle_scorer(), *s->task, s->test_eval, seeds));
      add_row("ceiling (posterior from prompt)",
              evaluate_scorer(*data::make_posterior_scorer(s->world, *s->posterior, data::AttributeSource::kPerceived),
                              *s->task, s->test_eval, seeds));
      add_row("non-personalised scorer",
              evaluate_scorer(*data::make_non_personalised_scorer(s->world), *s->task, s->test_eval, seeds));
      add_row("random", evaluate_scorer(*data::make_random_scorer(cfg.run.seed), *s->task, s->test_eval, seeds));
    }

    // Stage 0; its result (the backbone) is a cache in data.dir that a
    // resumed run reloads when a later stage starts from it.
    const std::string s0_name = "stage 0 (pretraining, not a reward model)";
    model::Transformer backbone{nullptr};
    auto get_backbone = [&]() -> model::TransformerImpl& {
      if (!backbone) {
        json s0;
        const bool current = ck.position("stage0") != StagePos::kDone;
        backbone = stage0(cfg, *s, metrics, &s0, current ? &ck : nullptr, ck.dp());
        if (!ck.has_row(s0_name)) {
          s0["row"] = s0_name;
          rows.push_back(s0);
        }
      }
      return *backbone;
    };
    if (ck.position("stage0") != StagePos::kDone) boundary("bt_non_personalised", nullptr, get_backbone().config());

    for (bool personalised : {false, true}) {
      const std::string stage = personalised ? "bt_history" : "bt_non_personalised";
      if (ck.position(stage) == StagePos::kDone) continue;
      if (cfg.bt.steps > 0)
        add_row(personalised ? "BT + history" : "BT non-personalised",
                stage_bt(get_backbone(), cfg, *s, personalised, metrics, ck));
      boundary(personalised ? "psi" : "bt_history", nullptr, get_backbone().config());
    }

    const RmEvalOptions greedy = eval_options(cfg, 1, 0.0);
    // The reward model: the backbone plus LoRA adapters when configured; a
    // run resumed after PSI builds the same structure and loads it.
    if (ck.position("psi") != StagePos::kDone) {
      rm = clone_model(get_backbone(), cfg);
    } else {
      core::ModelOptions o = cfg.model;
      o.lora_rank = 0;
      rm = model::build_model(o, s->tok->vocab_size());
      rm->set_activation_checkpointing(cfg.model.activation_checkpointing);
    }
    seed_stage(cfg, "psi");  // LoRA's initialisation
    if (cfg.model.lora_rank > 0) rm->enable_lora(cfg.model.lora_rank, cfg.model.lora_alpha, cfg.model.lora_targets);
    backbone = nullptr;  // not needed any more
    if (ck.position("psi") == StagePos::kDone) ck.restore_model(*rm);

    if (ck.position("psi") != StagePos::kDone) {
      auto t = std::chrono::steady_clock::now();
      stage_psi(*rm, cfg, *s, metrics, ck);
      json psi = evaluate_model(*rm, *s->task, s->test_eval, greedy, s->world_or_null());
      psi["train_s"] = seconds_since(t);
      add_row("P-GenRM SFT only (PSI)", psi);
      boundary("cre", rm.get(), rm->config());
    }

    // The KL anchor: the model after PSI, frozen.
    model::Transformer reference{nullptr};
    if (cfg.grpo.kl_coef > 0) {
      reference = clone_model(*rm, cfg);
      ck.restore_reference(*reference);
      reference->eval();
      for (auto& p : reference->parameters()) p.set_requires_grad(false);
    }
    const torch::nn::Module* ref_module = reference ? reference.get() : nullptr;
    for (bool curriculum : {false, true}) {
      const std::string stage = curriculum ? "curriculum" : "cre";
      if (ck.position(stage) == StagePos::kDone) continue;
      auto t = std::chrono::steady_clock::now();
      stage_grpo(*rm, reference ? reference.get() : nullptr, cfg, *s, curriculum, metrics, ck, link.get(), run_dir);
      json r = evaluate_model(*rm, *s->task, s->test_eval, greedy, s->world_or_null());
      r["train_s"] = seconds_since(t);
      add_row(curriculum ? "P-GenRM + CRE + curriculum (full)" : "P-GenRM + CRE", r);
      boundary(curriculum ? "final" : "curriculum", rm.get(), rm->config(), curriculum ? nullptr : ref_module);
    }
    if (link) link->stop();  // the rollout workers are done: they leave now

    if (ck.position("final") != StagePos::kDone) {
      for (int64_t m : cfg.eval.ind) {
        if (m <= 1) continue;
        const std::string name = "full, Ind-" + std::to_string(m) + " (temperature " +
                                 std::to_string(cfg.eval.temperature).substr(0, 4) + ")";
        if (ck.has_row(name)) continue;
        add_row(name, evaluate_model(*rm, *s->task, s->test_eval, eval_options(cfg, m, cfg.eval.temperature), nullptr));
        boundary("final", rm.get(), rm->config());
      }
      boundary("done", rm.get(), rm->config());
    }
  } catch (const core::StopRequested& e) {
    PGENRM_LOG_WARN(e.what(), "; the run continues from the newest checkpoint in ", ck.dir(),
                    " with --resume auto (exit code ", checkpoint::kRequeueExitCode, " asks SLURM to requeue)");
    return checkpoint::kRequeueExitCode;
  }

  if (!dp.is_root()) return 0;
  add_paired_comparisons(rows);
  model::save_hf(*rm, run_dir + "/model", s->tokenizer_path);
  json summary = {{"rows", rows}, {"wall_s", seconds_since(t_start)}, {"learner_ranks", dp.size()},
                  {"eval_pairs", s->test_eval.size()}, {"eval_seeds", cfg.eval.seeds}};
  std::ofstream(run_dir + "/results.json") << summary.dump(2) << "\n";
  print_table(rows);
  PGENRM_LOG_INFO("pipeline finished in ", seconds_since(t_start), " s; results in ", run_dir, "/results.json");
  return 0;
}

int run_pipeline(const core::Config& cfg, const std::string& run_dir, const std::string& resume) {
  auto t_start = std::chrono::steady_clock::now();
  at::set_num_threads(cfg.run.threads > 0 ? static_cast<int>(cfg.run.threads) : at::get_num_threads());
  // Deterministic kernels: the same config and seed give the same numbers
  // (what exact resume relies on); warn_only keeps ops without a
  // deterministic variant usable.
  at::globalContext().setDeterministicAlgorithms(cfg.run.deterministic, /*warn_only=*/true);
  // TF32 for fp32 matrix products on GPUs that have it (no effect on CPUs;
  // the parity tests turn it off to compare at 1e-4).
  at::globalContext().setAllowTF32CuBLAS(true);
  at::globalContext().setAllowTF32CuDNN(true);
  core::install_stop_handlers();
  // The job: one process, or learner ranks under mpirun/srun (dist.*). Every
  // learner runs this same code on its shard of each batch
  // (trainer/data_parallel.h); rank 0 alone writes files.
  comm::WorldOptions wo;
  wo.layout.learners = static_cast<int>(cfg.dist.learners);
  wo.layout.rollouts = static_cast<int>(cfg.dist.rollouts);
  wo.watchdog.timeout_s = cfg.dist.watchdog_s;
  comm::World world(wo);
  if (world.distributed()) PGENRM_LOG_INFO("job: ", world.describe());
  // An error on one rank of a job must end the job now, with its message:
  // the other ranks would otherwise wait in a collective until the
  // watchdog fires with a message about the wait, not the cause.
  try {
    return run_job(cfg, run_dir, resume, world, t_start);
  } catch (const std::exception& e) {
    if (!world.distributed()) throw;
    world.abort(1, std::string("pgenrm: error: ") + e.what());
  }
}

}  // namespace pgenrm::trainer
