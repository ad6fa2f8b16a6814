#include "launch/cli.h"

#include <cstdio>
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/error.h"
#include "core/options.h"
#include "launch/build_info.h"
#include "launch/commands.h"

namespace pgenrm::launch {

namespace {

struct SubSpec {
  const char* name;
  const char* help;
};

// The subcommands, in the order `pgenrm --help` lists them.
constexpr SubSpec kSubs[] = {
    {"data", "generate PersonaWorld, calibrate it, or load/convert real data"},
    {"train", "run the training pipeline (PSI → CRE → curriculum) of a config"},
    {"eval", "evaluate a reward model checkpoint (accuracy, ties, diagnostics)"},
    {"prototypes", "build, refine or inspect user prototypes"},
    {"serve", "serve a reward model over HTTP"},
    {"rollout", "run a rollout worker against a coordinator"},
    {"coordinator", "run the coordinator that shards users over rollout workers"},
    {"checkpoint", "inspect or export a checkpoint"},
    {"tokenize", "encode stdin lines to token ids (or decode) with a tokenizer.json"},
};

void add_common(CLI::App* sub, CommonArgs* common, bool* help_config) {
  sub->add_option("--config,-c", common->config, "YAML config file (e.g. configs/demo.yaml)");
  sub->add_option("overrides", common->overrides,
                  "config overrides as dotted.key=value (e.g. trainer.lr=1e-4)");
  sub->add_flag("--help-config", *help_config, "list every config option and exit");
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"pgenrm — personalised generative reward models (P-GenRM)", "pgenrm"};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return build_info(); });

  CommonArgs common;
  bool help_config = false;
  TokenizeArgs tok;
  DataArgs data_args;
  CheckpointArgs ckpt;
  EvalArgs eval_args;
  PrototypesArgs proto_args;
  RolloutArgs rollout_args;
  CoordinatorArgs coord_args;
  std::map<std::string, CLI::App*> subs;
  for (const auto& s : kSubs) {
    CLI::App* sub = app.add_subcommand(s.name, s.help);
    subs[s.name] = sub;
    const std::string name = s.name;
    if (name == "data") {
      // The action comes first so that it is not taken for an override.
      sub->add_option("action", data_args.action,
                      "generate | calibrate (PersonaWorld); stats | validate | convert | rank (real data)")
          ->required()
          ->check(CLI::IsMember({"generate", "calibrate", "stats", "validate", "convert", "rank"}));
      sub->add_option("--out,-o", data_args.out,
                      "output directory (generate: default data.dir; convert: required)");
      sub->add_option("--config,-c", common.config, "YAML config file (generate, calibrate)");
      sub->add_option("args", data_args.args,
                      "generate/calibrate: config overrides key=value; others: data files or directories");
      sub->add_flag("--help-config", help_config, "list every config option and exit");
      sub->add_option("--format,-f", data_args.format, "real data: prism | prb | arena | lampqa")
          ->check(CLI::IsMember({"prism", "prb", "arena", "lampqa"}));
      sub->add_flag("--strict", data_args.strict, "any bad row is fatal (default: skip and count it)");
      sub->add_option("--min-gap", data_args.min_gap,
                      "PRISM: drop pairs whose score gap is below this (1-100 scale)")->capture_default_str()
          ->check(CLI::Range(0.0, 100.0));
      sub->add_option("--history", data_args.history, "PersonalRewardBench: history pairs per test pair")->capture_default_str()
          ->check(CLI::Range(0, 64));
      sub->add_option("--seed", data_args.seed, "splits (PRISM, Arena) and history sampling (PRB)")->capture_default_str();
      sub->add_option("--test-share", data_args.test_share,
                      "PRISM/Arena: share of each user's conversations in test")->capture_default_str()
          ->check(CLI::Range(0.0, 1.0));
      sub->add_option("--val-share", data_args.val_share,
                      "PRISM/Arena: share of each user's conversations in val")->capture_default_str()
          ->check(CLI::Range(0.0, 1.0));
      sub->add_option("--show", data_args.show, "file:line messages shown per skip reason")->capture_default_str()
          ->check(CLI::Range(0, 1000000));
      sub->add_option("--candidates", data_args.candidates,
                      "rank (LaMP-QA): candidates JSONL {id, candidates: [{name, answer, rank, score}]}")
          ->check(CLI::ExistingFile);
      sub->add_option("--scorer", data_args.scorer,
                      "rank: given (the candidates' score) | rubric (rubric-aspect word coverage)")->capture_default_str()
          ->check(CLI::IsMember({"given", "rubric"}));
    } else if (name == "checkpoint") {
      sub->add_option("action", ckpt.action, "inspect | export")
          ->required()
          ->check(CLI::IsMember({"inspect", "export"}));
      sub->add_option("path", ckpt.path, "checkpoint file (ckpt-<step>.h5)")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_option("--out,-o", ckpt.out, "export: output directory (HF format)");
      sub->add_option("--tokenizer", ckpt.tokenizer, "export: tokenizer.json to copy alongside")
          ->check(CLI::ExistingFile);
    } else if (name == "eval") {
      sub->add_option("--checkpoint", eval_args.checkpoint,
                      "reward model: a Hugging Face directory (e.g. runs/demo/model)");
      sub->add_option("--scorer", eval_args.scorer, "or a reference scorer")
          ->check(CLI::IsMember({"oracle", "ceiling", "non_personalised", "random"}));
      sub->add_option("--ind", eval_args.ind,
                      "Ind-m: own chains per pair (1 = greedy; 0 = neighbours only, with --pro)")
          ->check(CLI::Range(0, 1024));
      sub->add_option("--pro", eval_args.pro,
                      "Pro-n: neighbour users per pair, through the prototypes (scaling.prototypes)")
          ->check(CLI::Range(0, 1024));
      sub->add_flag("--scaling-table", eval_args.scaling_table,
                    "run the paper's Ind/Pro rows into one table (JSON to --out, Markdown beside it)");
      sub->add_option("--out,-o", eval_args.out, "report JSON (default: stdout)");
      add_common(sub, &common, &help_config);
    } else if (name == "prototypes") {
      sub->add_option("action", proto_args.action, "build | refine | inspect")
          ->required()
          ->check(CLI::IsMember({"build", "refine", "inspect"}));
      sub->add_option("--checkpoint", proto_args.checkpoint,
                      "reward model: a Hugging Face directory (build, refine)");
      sub->add_option("--out,-o", proto_args.out,
                      "prototypes file (default: scaling.prototypes, else <checkpoint>/prototypes.safetensors)");
      add_common(sub, &common, &help_config);
      sub->add_flag("--dry-run", common.dry_run,
                    "resolve and validate the config, write it to the run directory, and stop");
    } else if (name == "rollout") {
      sub->add_option("--run-dir", rollout_args.run_dir,
                      "the training run's directory: the worker reads its coordinator.json (address and token), "
                      "waiting for it to appear (default: the config's run directory)");
      sub->add_option("--coordinator", rollout_args.coordinator, "HOST:PORT of the coordinator (instead of --run-dir)");
      sub->add_option("--token", rollout_args.token, "the coordinator's token (default: coordinator.json or "
                                                     "$PGENRM_COORDINATOR_TOKEN)");
      sub->add_option("--name", rollout_args.name, "worker id (default: host:pid)");
      sub->add_option("--wait-s", rollout_args.wait_s, "how long to wait for coordinator.json")->check(CLI::Range(0.0, 1e7));
      sub->add_option("--die-after-items", rollout_args.die_after_items,
                      "test hook: SIGKILL itself after N items while holding more of its lease");
      add_common(sub, &common, &help_config);
    } else if (name == "coordinator") {
      sub->add_option("--bind", coord_args.bind, "address to listen on (default 127.0.0.1; 0.0.0.0 for a cluster)");
      sub->add_option("--port", coord_args.port, "port (0: any free one, printed)")->check(CLI::Range(0, 65535));
      sub->add_option("--token", coord_args.token, "shared token (default: $PGENRM_COORDINATOR_TOKEN)");
      sub->add_option("--heartbeat-s", coord_args.heartbeat_s, "a worker silent this long is dead")
          ->check(CLI::Range(0.1, 86400.0));
      sub->add_option("--items-per-lease", coord_args.items_per_lease, "most items in one lease")
          ->check(CLI::Range(1, 1024));
      sub->add_option("--stats-every-s", coord_args.stats_every_s, "log queue depth and per-worker throughput (0: never)");
    } else if (name == "tokenize") {
      sub->add_option("--tokenizer,-t", tok.tokenizer, "tokenizer.json (BPE or WordLevel)")
          ->required()
          ->check(CLI::ExistingFile);
      sub->add_flag("--add-special", tok.add_special, "add the tokenizer's BOS/EOS template");
      sub->add_flag("--decode", tok.decode, "read JSON arrays of ids, print text");
      sub->add_flag("--skip-special", tok.skip_special, "with --decode: drop special tokens");
    } else {
      add_common(sub, &common, &help_config);
      if (name == "train")
        sub->add_option("--resume", common.resume,
                        "continue a run: auto (the newest sound checkpoint of the run, fresh if none), a "
                        "checkpoint directory or ckpt-<step>.h5; none (default) starts fresh and removes "
                        "the run's old checkpoints");
      sub->add_flag("--dry-run", common.dry_run,
                    "resolve and validate the config, write it to the run directory, and stop");
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    // CLI11 printed the error; show the usage of the subcommand involved.
    const CLI::App* where = &app;
    for (auto* s : app.get_subcommands()) where = s;
    std::cerr << "\n" << where->help();
    return kExitUsage;
  }

  try {
    if (help_config) {
      std::cout << "Config options (YAML keys; override with key=value):\n"
                << core::config_help();
      return kExitOk;
    }
    if (subs["tokenize"]->parsed()) return cmd_tokenize(tok);
    if (subs["checkpoint"]->parsed()) return cmd_checkpoint(ckpt);
    if (subs["data"]->parsed()) return cmd_data(common, data_args);
    if (subs["eval"]->parsed()) return cmd_eval(common, eval_args);
    if (subs["coordinator"]->parsed()) return cmd_coordinator(coord_args);
    if (subs["rollout"]->parsed()) return cmd_rollout(common, rollout_args);
    if (common.dry_run) {
      for (auto* s : app.get_subcommands()) return cmd_dry_run(s->get_name(), common);
    }
    if (subs["train"]->parsed()) return cmd_train(common);
    if (subs["prototypes"]->parsed()) return cmd_prototypes(common, proto_args);
    for (auto* s : app.get_subcommands()) return cmd_resolve_only(s->get_name(), common);
  } catch (const core::ConfigError& e) {
    std::cerr << "pgenrm: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "pgenrm: error: " << e.what() << "\n";
    return kExitFailure;
  }
  return kExitUsage;
}

}  // namespace pgenrm::launch
