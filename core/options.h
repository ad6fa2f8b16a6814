// Every configuration option of pgenrm, as plain structs with their defaults.
// The declarations (key, help, limits) are in options.cpp, next to nothing
// else, so that the list a user reads in `--help-config` is this list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pgenrm::core {

class Schema;

struct RunOptions {
  std::string name = "demo";
  std::string out_dir = "runs";
  int64_t seed = 1234;
  bool deterministic = true;
  int64_t threads = 0;
};

struct LogOptions {
  std::string level = "info";
  bool all_ranks = false;
  std::string progress = "auto";
  double interval_s = 10.0;
};

struct ModelOptions {
  std::string arch = "llama";
  std::string hf_path;
  int64_t vocab_size = 512;
  int64_t d_model = 128;
  int64_t n_layers = 3;
  int64_t n_heads = 4;
  int64_t n_kv_heads = 2;
  int64_t head_dim = 0;
  int64_t d_ff = 0;
  int64_t max_seq_len = 1024;
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;
  bool qk_norm = false;
  bool qkv_bias = false;
  std::string dtype = "float32";
  double init_std = 0.02;
  int64_t lora_rank = 0;
  double lora_alpha = 16.0;
  std::vector<std::string> lora_targets = {"q_proj", "v_proj"};
  bool activation_checkpointing = false;
};

struct SampleOptions {
  double top_p = 1.0;
  int64_t top_k = 0;
  int64_t max_new_tokens = 256;
};

struct TrainerOptions {
  double lr = 3e-4;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = 20;
  double weight_decay = 0.0;
  double grad_clip = 1.0;
  int64_t batch_size = 32;
  int64_t grad_accum = 1;
};

struct WorldOptions {
  int64_t seed = 7;
  int64_t users = 2000;
  int64_t criteria = 6;
  int64_t scenarios = 6;
  int64_t prototypes = 6;
  double favourite_weight = 0.65;
  double second_weight = 0.12;
  double concentration = 80.0;
  double scenario_sigma = 0.3;
  double interaction_sigma = 0.35;
  double quality_sigma = 0.45;
  double profile_sigma = 2.0;
  double tau = 0.25;
  double stated_share = 0.4;
  int64_t stated_count = 3;
  double stated_swap = 0.2;
  double cold_start_share = 0.2;
  int64_t train_pairs = 6;
  int64_t val_pairs = 1;
  int64_t test_pairs = 2;
  int64_t words_per_criterion = 2;
  double word_noise = 0.1;
};

struct DataOptions {
  std::string dir = "runs/personaworld";
  int64_t history = 3;
  bool history_include_val = true;
  bool history_same_scenario = false;
  int64_t posterior_particles = 128;
  double teacher_temperature = 0.5;
  int64_t teacher_max_draws = 4;
  int64_t teacher_max_criteria = 4;
  int64_t teacher_weight_step = 10;
  std::string teacher_criterion_order = "importance";
};

// Stage 0: language modelling on world text (cached, keyed by world+model).
struct PretrainOptions {
  int64_t steps = 300;
  int64_t batch_size = 32;
  double lr = 2e-3;
  int64_t warmup_steps = 20;
};

// Bradley–Terry baselines (scalar head on the stage-0 backbone).
struct BtOptions {
  int64_t steps = 150;
  int64_t batch_size = 32;
  double lr = 5e-4;
};

// Stage 1 (PSI): SFT on the teacher's chains.
struct SftOptions {
  int64_t steps = 400;
};

// Stages 2 and 3: GRPO.
struct GrpoOptions {
  int64_t steps = 40;  // CRE steps
  int64_t prompts_per_step = 8;
  int64_t group_size = 8;
  double lr = 5e-5;
  int64_t warmup_steps = 0;
  double clip_low = 0.2;
  double clip_high = 0.28;
  double kl_coef = 0.05;
  std::string agg = "token_mean";
  std::string pr_target = "stated";  // PR criteria: stated (else synthesised from the history) | truth (PersonaWorld)
  std::string prompt = "cre";  // prompt of the GRPO stages: cre (history only, the paper) or psi (with stated criteria)
  bool std_norm = true;
  int64_t max_staleness = 0;  // rollout workers: 0 on-policy, 1 one-step-off asynchronous
  bool drop_zero_var = true;
  int64_t ppo_epochs = 1;
  int64_t micro_batch = 16;
  double temperature = 1.0;
  std::string score_decoding = "sampled";  // sampled | greedy: the chain's scores after "B. Scoring Breakdown:"
  double top_p = 1.0;
  double alpha = 0.5;
  double beta = 1.0;
};

// Stage 3: the hard-negative curriculum.
struct CurriculumOptions {
  int64_t steps = 40;
  double p0 = 0.2;
  double p1 = 0.8;
  std::string schedule = "linear";
  std::string hard = "population";
};

// Evaluation of every stage.
struct EvalOptions {
  int64_t pairs = 400;
  int64_t seeds = 3;
  int64_t batch = 32;
  std::string prompt = "psi";
  std::vector<int64_t> ind = {16};
  double temperature = 1.0;
};

// Checkpoints of `pgenrm train` (docs/CHECKPOINTS.md).
struct CheckpointOptions {
  std::string dir;             // "" = <run dir>/checkpoints
  int64_t every_steps = 50;    // optimizer steps between saves (0 = stage ends only)
  int64_t keep_last = 3;       // complete checkpoints kept (0 = all)
};

// Test-time user-based scaling (DESIGN.md §7): Ind-m / Pro-n and the user
// prototypes of `pgenrm prototypes`.
struct ScalingOptions {
  std::string prototypes;   // "" = <checkpoint>/prototypes.safetensors
  std::string embed_model;  // HF dir of the embedding model; "" = the reward model
  int64_t embed_batch = 64;
  int64_t analysis_pairs = 2;  // training pairs per member whose Part 1 is embedded
  std::string analysis_text = "part1";  // what of a chain is embedded (scaling/embed.h)
  int64_t k = 0;               // prototypes; 0 = smallest of k_candidates reaching retained_target
  std::vector<int64_t> k_candidates = {2, 4, 6, 8, 12, 16, 24};
  double retained_target = 0.5;
  int64_t restarts = 8;
  int64_t kmeans_iters = 100;
  double c_self = 0.5;
  double c_pro = 0.5;
  int64_t refine_rounds = 2;
  int64_t refine_steps = 150;
  int64_t refine_batch = 128;
  double refine_lr = 1e-2;
  double lambda_q = 1.0;
  double lambda_s = 1.0;
  double rho = 1.0;
  double lambda_cent = 0.1;
  double lambda_tr = 0.1;
};

// The job's processes (docs/DISTRIBUTED.md).
struct DistOptions {
  int64_t learners = 0;      // learner ranks (0: every rank that is not a rollout rank)
  int64_t rollouts = 0;      // separate rollout ranks
  double watchdog_s = 300;   // a collective slower than this is a hang: abort naming rank and op
  double bucket_mb = 25;     // gradient all-reduce bucket size
  // Rollout workers outside MPI (`pgenrm rollout`) and the coordinator.
  bool external_rollouts = false;     // the learners wait for rollouts from workers that join by TCP
  std::string coordinator;            // host:port of a standalone `pgenrm coordinator` ("" = learner 0 hosts it)
  std::string coordinator_bind = "127.0.0.1";  // where the hosted coordinator listens
  int64_t coordinator_port = 0;       // its port (0: any free port, written to <run dir>/coordinator.json)
  std::string token;                  // shared token ("" = $PGENRM_COORDINATOR_TOKEN, else a random one)
  std::string weights_dir;            // published weight files for external workers ("" = <run dir>/rollout_weights)
  int64_t items_per_lease = 4;        // prompts a worker takes at once
  double heartbeat_s = 30;            // a worker silent this long is dead; its leases are re-queued
  double rollout_timeout_s = 600;     // no rollout result for this long: stop with an error
};

struct Config {
  RunOptions run;
  LogOptions log;
  ModelOptions model;
  SampleOptions sample;
  TrainerOptions trainer;
  WorldOptions world;
  DataOptions data;
  PretrainOptions pretrain;
  BtOptions bt;
  SftOptions sft;
  GrpoOptions grpo;
  CurriculumOptions curriculum;
  EvalOptions eval;
  CheckpointOptions checkpoint;
  DistOptions dist;
  ScalingOptions scaling;
};

// Binds every field of `cfg` into `schema`; the field's current value is the
// option's default.
void declare_options(Schema& schema, Config& cfg);

// Defaults, then the YAML file (if `path` is non-empty), then the overrides.
// Throws ConfigError naming the file:line / key / value on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides);
// The resolved config as YAML that load_config reads back to the same values.
std::string dump_config(const Config& cfg);
// Every option with type, default, allowed values and help.
std::string config_help();

}  // namespace pgenrm::core
