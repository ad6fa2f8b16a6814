#include "core/options.h"

#include "core/config.h"

namespace pgenrm::core {

void declare_options(Schema& s, Config& c) {
  // run
  s.add("run.name", &c.run.name, "run name; outputs go to <run.out_dir>/<run.name>/");
  s.add("run.out_dir", &c.run.out_dir, "directory holding run directories");
  s.add("run.seed", &c.run.seed, "base seed of every random stream").min(0);
  s.add("run.deterministic", &c.run.deterministic,
        "deterministic CPU kernels and fixed reduction order (exact resume)");
  s.add("run.threads", &c.run.threads, "intra-op CPU threads, and decode lanes (0 = one per core; 1 on a machine shared with another job: docs/PERFORMANCE.md)").min(0);

  // log
  s.add("log.level", &c.log.level, "log level").choices({"debug", "info", "warn", "error"});
  s.add("log.all_ranks", &c.log.all_ranks, "log info messages from every rank, not only rank 0");
  s.add("log.progress", &c.log.progress,
        "progress display: a bar on a terminal, periodic lines otherwise (auto)")
      .choices({"auto", "bar", "lines", "off"});
  s.add("log.interval_s", &c.log.interval_s, "seconds between periodic progress lines")
      .range(0.1, 3600);

  // model
  s.add("model.arch", &c.model.arch, "decoder family").choices({"llama", "qwen2", "qwen3"});
  s.add("model.hf_path", &c.model.hf_path,
        "Hugging Face model directory (config.json + safetensors); overrides the shape below");
  s.add("model.vocab_size", &c.model.vocab_size, "vocabulary size").range(2, 1 << 22);
  s.add("model.d_model", &c.model.d_model, "hidden size").range(8, 65536);
  s.add("model.n_layers", &c.model.n_layers, "decoder layers").range(1, 512);
  s.add("model.n_heads", &c.model.n_heads, "attention heads").range(1, 1024);
  s.add("model.n_kv_heads", &c.model.n_kv_heads, "key/value heads (grouped-query attention)")
      .range(1, 1024);
  s.add("model.head_dim", &c.model.head_dim, "head dimension (0 = d_model / n_heads)")
      .range(0, 4096);
  s.add("model.d_ff", &c.model.d_ff, "SwiGLU inner size (0 = 8/3 d_model rounded up to 32)")
      .range(0, 1 << 20);
  s.add("model.max_seq_len", &c.model.max_seq_len, "longest sequence (prompt + chain)")
      .range(8, 1 << 20);
  s.add("model.rope_theta", &c.model.rope_theta, "RoPE base").min(1.0);
  s.add("model.norm_eps", &c.model.norm_eps, "RMSNorm epsilon").range(1e-12, 1e-2);
  s.add("model.tie_embeddings", &c.model.tie_embeddings, "LM head shares the embedding matrix");
  s.add("model.qk_norm", &c.model.qk_norm, "RMSNorm on queries and keys per head (Qwen3)");
  s.add("model.qkv_bias", &c.model.qkv_bias, "bias on q/k/v projections (Qwen2)");
  s.add("model.dtype", &c.model.dtype, "weight/activation dtype (bfloat16 on CUDA)")
      .choices({"float32", "bfloat16"});
  s.add("model.init_std", &c.model.init_std, "std of the normal init of fresh weights")
      .range(0, 1);
  s.add("model.lora_rank", &c.model.lora_rank, "LoRA rank (0 = full fine-tuning)").range(0, 4096);
  s.add("model.lora_alpha", &c.model.lora_alpha, "LoRA alpha (scale = alpha / rank)").min(0);
  s.add("model.lora_targets", &c.model.lora_targets, "projections that get LoRA adapters")
      .choices({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"});
  s.add("model.activation_checkpointing", &c.model.activation_checkpointing,
        "recompute each layer in backward instead of storing activations");

  // sample
  s.add("sample.top_p", &c.sample.top_p, "nucleus sampling mass").range(0, 1);
  s.add("sample.top_k", &c.sample.top_k, "keep the k most likely tokens (0 = all)").min(0);
  s.add("sample.max_new_tokens", &c.sample.max_new_tokens, "tokens generated at most")
      .range(1, 1 << 20);

  // trainer
  s.add("trainer.lr", &c.trainer.lr, "PSI (SFT) peak learning rate (AdamW)").range(0, 1);
  s.add("trainer.min_lr_ratio", &c.trainer.min_lr_ratio,
        "cosine schedule floor as a fraction of trainer.lr")
      .range(0, 1);
  s.add("trainer.warmup_steps", &c.trainer.warmup_steps, "PSI linear warmup steps").min(0);
  s.add("trainer.weight_decay", &c.trainer.weight_decay, "AdamW decoupled weight decay")
      .range(0, 1);
  s.add("trainer.grad_clip", &c.trainer.grad_clip, "global gradient-norm clip (0 = off)").min(0);
  s.add("trainer.batch_size", &c.trainer.batch_size, "PSI sequences per optimizer step").min(1);
  s.add("trainer.grad_accum", &c.trainer.grad_accum, "micro-batches per optimizer step (Stage 0 and PSI; gradients accumulate)").min(1);

  // world: PersonaWorld's generator (docs/PERSONAWORLD.md says why each default)
  s.add("world.seed", &c.world.seed, "seed of the world (fixed while run.seed varies)").min(0);
  s.add("world.users", &c.world.users, "users in the world").range(1, 1000000);
  s.add("world.criteria", &c.world.criteria,
        "criteria D (6: brevity..creativity; 7-8 add caution, practicality)")
      .range(2, 8);
  s.add("world.scenarios", &c.world.scenarios, "scenarios S (music, study, email, ...)").range(1, 8);
  s.add("world.prototypes", &c.world.prototypes,
        "user prototypes P, each with its own favourite criterion (P <= D)")
      .range(1, 8);
  s.add("world.favourite_weight", &c.world.favourite_weight,
        "share of a prototype's base weight on its favourite criterion")
      .range(0.05, 0.95);
  s.add("world.second_weight", &c.world.second_weight,
        "share on its second criterion (favourite + second < 1)")
      .range(0, 0.9);
  s.add("world.concentration", &c.world.concentration,
        "Dirichlet concentration of users around their prototype (higher = sharper)")
      .range(0.5, 10000);
  s.add("world.scenario_sigma", &c.world.scenario_sigma,
        "log-sd of the scenario multipliers shared by all prototypes")
      .range(0, 3);
  s.add("world.interaction_sigma", &c.world.interaction_sigma,
        "log-sd of the prototype x scenario multipliers")
      .range(0, 3);
  s.add("world.quality_sigma", &c.world.quality_sigma,
        "sd of a response's shared quality (what every user agrees on)")
      .range(0, 5);
  s.add("world.profile_sigma", &c.world.profile_sigma,
        "sd of a response's zero-sum attribute profile (what users disagree on)")
      .range(0, 5);
  s.add("world.tau", &c.world.tau, "label temperature: P(A chosen) = sigmoid((u_A - u_B) / tau)")
      .range(1e-3, 100);
  s.add("world.stated_share", &c.world.stated_share,
        "share of PRISM-like users who state criteria (the rest are Arena-like)")
      .range(0, 1);
  s.add("world.stated_count", &c.world.stated_count, "criteria a PRISM-like user states").range(1, 8);
  s.add("world.stated_swap", &c.world.stated_swap,
        "chance each stated criterion is swapped for one outside the user's top")
      .range(0, 1);
  s.add("world.cold_start_share", &c.world.cold_start_share,
        "share of cold-start users (0-1 train pairs, no val pairs)")
      .range(0, 1);
  s.add("world.train_pairs", &c.world.train_pairs, "train pairs per warm user").range(0, 1000);
  s.add("world.val_pairs", &c.world.val_pairs, "val pairs per warm user").range(0, 1000);
  s.add("world.test_pairs", &c.world.test_pairs, "test pairs per user").range(0, 1000);
  s.add("world.words_per_criterion", &c.world.words_per_criterion,
        "level words per criterion in a response text")
      .range(1, 8);
  s.add("world.word_noise", &c.world.word_noise,
        "chance a level word comes from a neighbouring level")
      .range(0, 1);

  // data
  s.add("data.dir", &c.data.dir, "dataset directory (PersonaWorld output: pairs.jsonl, ...)");
  s.add("data.history", &c.data.history, "history pairs h shown in a prompt").range(0, 64);
  s.add("data.history_include_val", &c.data.history_include_val,
        "draw history from train + val pairs (else train only)");
  s.add("data.history_same_scenario", &c.data.history_same_scenario,
        "history prefers pairs of the evaluated pair's scenario");
  s.add("data.posterior_particles", &c.data.posterior_particles,
        "particles per prototype of the history posterior (ceiling scorer, teacher)")
      .range(1, 100000);
  s.add("data.teacher_temperature", &c.data.teacher_temperature,
        "teacher noise scale on its weights and scores (0 = posterior mean, perceived scores)")
      .range(0, 10);
  s.add("data.teacher_max_draws", &c.data.teacher_max_draws,
        "rejection sampling: chains drawn per training pair at most")
      .range(1, 1000);
  s.add("data.teacher_max_criteria", &c.data.teacher_max_criteria,
        "criteria in a teacher chain at most (3 or 4 are used)")
      .range(3, 8);
  s.add("data.teacher_weight_step", &c.data.teacher_weight_step,
        "teacher weights are multiples of this (1, 5, 10, 20, 25): coarse steps are easier "
        "for a small model to write and still sum to 100")
      .range(1, 25);
  s.add("data.teacher_criterion_order", &c.data.teacher_criterion_order,
        "order of the criteria in a teacher chain's Part 2: importance (heaviest first, as Part 1 "
        "derives them) or fixed (the world's criterion order)")
      .choices({"importance", "fixed"});

  // pretrain (stage 0)
  s.add("pretrain.steps", &c.pretrain.steps, "stage-0 language-modelling steps on world text").min(0);
  s.add("pretrain.batch_size", &c.pretrain.batch_size, "stage-0 documents per step").min(1);
  s.add("pretrain.lr", &c.pretrain.lr, "stage-0 peak learning rate").range(0, 1);
  s.add("pretrain.warmup_steps", &c.pretrain.warmup_steps, "stage-0 warmup steps").min(0);

  // bt (baselines)
  s.add("bt.steps", &c.bt.steps, "Bradley-Terry baseline steps (0 = skip the baselines)").min(0);
  s.add("bt.batch_size", &c.bt.batch_size, "pairs per Bradley-Terry step").min(1);
  s.add("bt.lr", &c.bt.lr, "Bradley-Terry peak learning rate").range(0, 1);

  // sft (stage 1, PSI)
  s.add("sft.steps", &c.sft.steps,
        "PSI steps (SFT on teacher chains; optimizer settings in trainer.*)").min(0);

  // grpo (stages 2 and 3)
  s.add("grpo.steps", &c.grpo.steps, "CRE steps (stage 2)").min(0);
  s.add("grpo.prompts_per_step", &c.grpo.prompts_per_step, "prompts per GRPO step").min(1);
  s.add("grpo.group_size", &c.grpo.group_size, "chains per prompt (G)").range(2, 1024);
  s.add("grpo.lr", &c.grpo.lr, "GRPO learning rate (constant after warmup)").range(0, 1);
  s.add("grpo.warmup_steps", &c.grpo.warmup_steps, "GRPO warmup steps").min(0);
  s.add("grpo.clip_low", &c.grpo.clip_low, "PPO clip ε_low (ratio floor 1 − ε_low)").range(0, 1);
  s.add("grpo.clip_high", &c.grpo.clip_high, "PPO clip ε_high (ratio ceiling 1 + ε_high)").range(0, 10);
  s.add("grpo.kl_coef", &c.grpo.kl_coef, "k3 KL coefficient to the frozen PSI model (0 = none)")
      .range(0, 100);
  s.add("grpo.agg", &c.grpo.agg, "loss aggregation").choices({"token_mean", "seq_mean"});
  s.add("grpo.pr_target", &c.grpo.pr_target,
        "criteria the process reward measures coverage of: stated (the user's stated criteria, else the top 3 "
        "of the history's posterior — the paper's) or truth (PersonaWorld only: the top 3 of the user's true "
        "weights in the pair's scenario, a judge that knows the user)")
      .choices({"stated", "truth"});
  s.add("grpo.prompt", &c.grpo.prompt,
        "prompt of the GRPO stages: cre (history only, no stated criteria: the paper's CRE) or psi (the "
        "PSI/evaluation prompt, stated criteria included)")
      .choices({"cre", "psi"});
  s.add("grpo.std_norm", &c.grpo.std_norm, "divide advantages by the group std");
  s.add("grpo.drop_zero_var", &c.grpo.drop_zero_var, "drop groups whose rewards are all equal");
  s.add("grpo.max_staleness", &c.grpo.max_staleness,
        "with rollout workers: 0 = on-policy (rollouts of step s use the weights after step s-1); 1 = one-step-off "
        "asynchronous (step s+1 is generated while step s trains; the PPO ratio uses the rollout log-probs)")
      .range(0, 1);
  s.add("grpo.ppo_epochs", &c.grpo.ppo_epochs, "updates per rollout batch (μ)").range(1, 64);
  s.add("grpo.micro_batch", &c.grpo.micro_batch, "sequences per forward/backward").min(1);
  s.add("grpo.temperature", &c.grpo.temperature, "rollout temperature").range(0.01, 10);
  s.add("grpo.top_p", &c.grpo.top_p, "rollout nucleus mass").range(0, 1);
  s.add("grpo.score_decoding", &c.grpo.score_decoding,
        "how a rollout chain writes its scores: sampled (the whole chain at grpo.temperature) or greedy (the "
        "analysis and weights are sampled, everything after \"B. Scoring Breakdown:\" is decoded greedily and not "
        "trained on: the outcome reward then judges the sampled weights, not the luck of the score tokens)")
      .choices({"sampled", "greedy"});
  s.add("grpo.alpha", &c.grpo.alpha, "CRE weight α of the process reward PR").min(0);
  s.add("grpo.beta", &c.grpo.beta, "weight β of the outcome reward OR").min(0);

  // curriculum (stage 3)
  s.add("curriculum.steps", &c.curriculum.steps, "hard-negative curriculum steps (stage 3)").min(0);
  s.add("curriculum.p0", &c.curriculum.p0, "hard-negative share at the start").range(0, 1);
  s.add("curriculum.p1", &c.curriculum.p1, "hard-negative share at the end").range(0, 1);
  s.add("curriculum.schedule", &c.curriculum.schedule, "how the share rises")
      .choices({"linear", "step"});
  s.add("curriculum.hard", &c.curriculum.hard,
        "hard negative: population (non-personalised scorer disagrees), low_accuracy "
        "(current model's group accuracy < 0.5), or either")
      .choices({"population", "low_accuracy", "either"});

  // eval
  s.add("eval.pairs", &c.eval.pairs, "test pairs evaluated (a fixed seeded subset)").min(1);
  s.add("eval.seeds", &c.eval.seeds, "evaluation seeds (history draw, response order)").range(1, 100);
  s.add("eval.batch", &c.eval.batch, "prompts per generation call").min(1);
  s.add("eval.prompt", &c.eval.prompt, "prompt shown at evaluation").choices({"psi", "cre"});
  s.add("eval.ind", &c.eval.ind, "Ind-m rows evaluated on the final model (m > 1)").range(1, 1024);
  s.add("eval.temperature", &c.eval.temperature, "sampling temperature of Ind-m chains")
      .range(0, 10);

  // checkpoint
  s.add("checkpoint.dir", &c.checkpoint.dir, "checkpoint directory (empty: <run dir>/checkpoints)");
  s.add("checkpoint.every_steps", &c.checkpoint.every_steps,
        "optimizer steps between checkpoints, counted over all stages (0: at stage ends only)")
      .min(0);
  s.add("checkpoint.keep_last", &c.checkpoint.keep_last, "complete checkpoints kept (0: all)").min(0);

  // dist
  s.add("dist.learners", &c.dist.learners, "learner ranks (0: every rank that is not a rollout rank)").min(0);
  s.add("dist.rollouts", &c.dist.rollouts, "separate rollout ranks (0: learners generate their own rollouts)")
      .min(0);
  s.add("dist.watchdog_s", &c.dist.watchdog_s,
        "seconds a collective may take before the job aborts naming the rank and operation (0: never)")
      .min(0);
  s.add("dist.bucket_mb", &c.dist.bucket_mb, "gradient all-reduce bucket size, MB").range(0.01, 4096);
  s.add("dist.external_rollouts", &c.dist.external_rollouts,
        "GRPO rollouts come from workers that join by TCP (`pgenrm rollout --coordinator`), not from the learners");
  s.add("dist.coordinator", &c.dist.coordinator,
        "host:port of a standalone `pgenrm coordinator` (empty: learner rank 0 hosts the coordinator)");
  s.add("dist.coordinator_bind", &c.dist.coordinator_bind,
        "address the hosted coordinator listens on (127.0.0.1: this machine only; 0.0.0.0: every interface)");
  s.add("dist.coordinator_port", &c.dist.coordinator_port,
        "port of the hosted coordinator (0: any free port; written to <run dir>/coordinator.json)")
      .range(0, 65535);
  s.add("dist.token", &c.dist.token,
        "shared token of the coordinator (empty: $PGENRM_COORDINATOR_TOKEN, else a random one written to "
        "<run dir>/coordinator.json)");
  s.add("dist.weights_dir", &c.dist.weights_dir,
        "where learner 0 publishes weights for workers outside MPI (empty: <run dir>/rollout_weights)");
  s.add("dist.items_per_lease", &c.dist.items_per_lease, "prompts a rollout worker takes per lease").range(1, 1024);
  s.add("dist.heartbeat_s", &c.dist.heartbeat_s,
        "a rollout worker silent this long is dead and its leases return to the queue")
      .range(0.1, 86400);
  s.add("dist.rollout_timeout_s", &c.dist.rollout_timeout_s,
        "the learners stop with an error when no rollout result arrives for this long")
      .range(1, 1e7);

  // scaling (test-time Ind-m / Pro-n, prototypes; DESIGN.md §7)
  s.add("scaling.prototypes", &c.scaling.prototypes,
        "prototypes file (empty: <checkpoint>/prototypes.safetensors)");
  s.add("scaling.embed_model", &c.scaling.embed_model,
        "HF directory of the embedding model (empty: the reward model's backbone)");
  s.add("scaling.embed_batch", &c.scaling.embed_batch, "texts per embedding forward").min(1);
  s.add("scaling.analysis_text", &c.scaling.analysis_text,
        "what of a member's greedy chain is embedded: part1 (Part 1), persona (the Persona line), criteria "
        "(Part 2's criteria and weights) or persona+criteria; recorded in the prototypes, whose choice evaluation uses")
      .choices({"part1", "persona", "criteria", "persona+criteria"});
  s.add("scaling.analysis_pairs", &c.scaling.analysis_pairs,
        "training pairs per user whose greedy chain's Part 1 is embedded (mean)")
      .range(1, 64);
  s.add("scaling.k", &c.scaling.k,
        "number of prototypes (0: smallest of scaling.k_candidates reaching scaling.retained_target)")
      .min(0);
  s.add("scaling.k_candidates", &c.scaling.k_candidates, "k values of the retained-variance report")
      .range(1, 4096);
  s.add("scaling.retained_target", &c.scaling.retained_target,
        "retained variance (1 - within/total) that picks k when scaling.k = 0")
      .range(0, 1);
  s.add("scaling.restarts", &c.scaling.restarts, "k-means restarts (k-means++ init each)").range(1, 1000);
  s.add("scaling.kmeans_iters", &c.scaling.kmeans_iters, "k-means Lloyd iterations at most").min(1);
  s.add("scaling.c_self", &c.scaling.c_self, "weight of the user's own chains (Ind) in the score").min(0);
  s.add("scaling.c_pro", &c.scaling.c_pro, "weight of the neighbours' chains (Pro) in the score").min(0);
  s.add("scaling.refine_rounds", &c.scaling.refine_rounds,
        "prototype refinement rounds (train, then reassign members)")
      .range(1, 100);
  s.add("scaling.refine_steps", &c.scaling.refine_steps, "Adam steps per refinement round").min(0);
  s.add("scaling.refine_batch", &c.scaling.refine_batch, "member samples per refinement step").min(1);
  s.add("scaling.refine_lr", &c.scaling.refine_lr, "refinement learning rate (Adam)").range(0, 10);
  s.add("scaling.lambda_q", &c.scaling.lambda_q, "refinement: weight λ_q of the query term").min(0);
  s.add("scaling.lambda_s", &c.scaling.lambda_s, "refinement: weight λ_s of the history summary").min(0);
  s.add("scaling.rho", &c.scaling.rho, "refinement: weight ρ of the prototype in history attention").min(0);
  s.add("scaling.lambda_cent", &c.scaling.lambda_cent,
        "refinement: λ_cent of ||a_j - cluster mean||^2").min(0);
  s.add("scaling.lambda_tr", &c.scaling.lambda_tr,
        "refinement: λ_tr of ||a_j - prototype before the round||^2").min(0);
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config cfg;
  Schema schema;
  declare_options(schema, cfg);
  if (!path.empty()) schema.load_file(path);
  schema.apply_overrides(overrides);
  return cfg;
}

std::string dump_config(const Config& cfg) {
  Config copy = cfg;
  Schema schema;
  declare_options(schema, copy);
  return schema.dump();
}

std::string config_help() {
  Config cfg;
  Schema schema;
  declare_options(schema, cfg);
  return schema.help_table();
}

}  // namespace pgenrm::core
