// The `pgenrm` binary as a user meets it: exit codes and messages of the
// command line and of config errors.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.h"
#include "core/options.h"

namespace {

struct Result {
  int code;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args) {
  std::string cmd = std::string(PGENRM_BINARY_DIR) + "/bin/pgenrm " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

const std::string kDemo = std::string(PGENRM_SOURCE_DIR) + "/configs/demo.yaml";
std::string tmp_run_dir() {
  return (std::filesystem::temp_directory_path() / "pgenrm_cli_runs").string();
}

}  // namespace

TEST(Cli, BadOverrideValueNamesKeyAndValue) {
  Result r = run("train --config " + kDemo + " trainer.lr=abc");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("trainer.lr = 'abc'"), std::string::npos) << r.out;
}

TEST(Cli, MisspelledYamlKeyNamesFileLineAndSuggestion) {
  auto path = (std::filesystem::temp_directory_path() / "pgenrm_cli_bad.yaml").string();
  std::ofstream(path) << "run:\n  name: x\ntrainer:\n  lrr: 1e-4\n";
  Result r = run("train --config " + path);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(path + ":4: unknown key 'trainer.lrr'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean trainer.lr?"), std::string::npos) << r.out;
}

TEST(Cli, UnknownSubcommandAndFlagPrintUsageAndExit2) {
  Result r = run("trian");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  r = run("eval --bogus-flag");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--bogus-flag"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--config"), std::string::npos) << "usage of the subcommand: " << r.out;
  r = run("");
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"data", "train", "eval", "prototypes", "serve", "rollout",
                          "coordinator", "checkpoint", "tokenize"}) {
    Result r = run(std::string(sub) + " --help");
    EXPECT_EQ(r.code, 0) << sub << ": " << r.out;
    EXPECT_NE(r.out.find(sub), std::string::npos) << r.out;
  }
  Result r = run("train --help-config");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("trainer.lr"), std::string::npos);
}

TEST(Cli, DryRunResolvesAValidConfigIntoTheRunDirectory) {
  std::filesystem::remove_all(tmp_run_dir());
  Result r = run("train --dry-run --config " + kDemo + " run.out_dir=" + tmp_run_dir() +
                 " run.name=cli trainer.lr=0.00042");
  EXPECT_EQ(r.code, 0) << r.out;
  std::ifstream in(tmp_run_dir() + "/cli/config.yaml");
  ASSERT_TRUE(in.good()) << r.out;
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("lr: 0.00042"), std::string::npos) << text;
}

TEST(Cli, DataGenerateWritesAWorldAndPrintsItsCalibration) {
  const std::string dir = tmp_run_dir() + "_world";
  std::filesystem::remove_all(dir);
  Result r = run("data generate --config " + kDemo + " --out " + dir + " world.users=40");
  EXPECT_EQ(r.code, 0) << r.out;
  for (const char* f : {"pairs.jsonl", "survey.jsonl", "world.json", "teacher.jsonl", "tokenizer.json"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  EXPECT_NE(r.out.find("| test | all |"), std::string::npos) << r.out;
  r = run("data shuffle --config " + kDemo);
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST(Cli, CheckpointSubcommandValidatesItsArguments) {
  Result r = run("checkpoint inspect /nonexistent/ckpt-1.h5");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/ckpt-1.h5"), std::string::npos) << r.out;
  r = run("checkpoint frobnicate " + kDemo);
  EXPECT_EQ(r.code, 2) << r.out;
}

TEST(Cli, ConfigReferenceDocIsCurrent) {
  std::ifstream in(std::string(PGENRM_SOURCE_DIR) + "/docs/CONFIG.md");
  ASSERT_TRUE(in.good()) << "docs/CONFIG.md missing: run tools/gen_config_doc.sh";
  std::string doc((std::istreambuf_iterator<char>(in)), {});
  pgenrm::core::Config cfg;
  pgenrm::core::Schema schema;
  pgenrm::core::declare_options(schema, cfg);
  for (const auto* o : schema.options())
    EXPECT_NE(doc.find(o->key()), std::string::npos)
        << o->key() << " is not in docs/CONFIG.md: run tools/gen_config_doc.sh";
}
