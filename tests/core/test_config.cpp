// The config system: every error names the source, key, value and what is
// allowed; overrides get the same checks; a file with any error changes
// nothing; the dump reads back to the same values.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/options.h"

using pgenrm::core::Config;
using pgenrm::core::ConfigError;
using pgenrm::core::dump_config;
using pgenrm::core::load_config;
using pgenrm::core::Schema;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  auto dir = std::filesystem::temp_directory_path() / "pgenrm_test_config";
  std::filesystem::create_directories(dir);
  auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// Runs `fn` and returns the ConfigError message it must throw.
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

}  // namespace

TEST(Config, DefaultsComeFromTheStructs) {
  Config c = load_config("", {});
  EXPECT_DOUBLE_EQ(c.trainer.lr, Config{}.trainer.lr);
  EXPECT_EQ(c.model.arch, "llama");
}

TEST(Config, FileValuesAndOverridesApplyInOrder) {
  auto p = write_temp("a.yaml", "trainer:\n  lr: 1e-4\n  batch_size: 8\nmodel:\n  arch: qwen3\n");
  Config c = load_config(p, {"trainer.batch_size=16", "model.lora_targets=[q_proj, o_proj]"});
  EXPECT_DOUBLE_EQ(c.trainer.lr, 1e-4);
  EXPECT_EQ(c.trainer.batch_size, 16);  // override wins over the file
  EXPECT_EQ(c.model.arch, "qwen3");
  EXPECT_EQ(c.model.lora_targets, (std::vector<std::string>{"q_proj", "o_proj"}));
}

TEST(Config, UnknownKeyNamesFileLineAndSuggestion) {
  auto p = write_temp("b.yaml", "run:\n  seed: 3\ntrainer:\n  lrr: 1e-4\n");
  std::string msg = error_of([&] { load_config(p, {}); });
  EXPECT_NE(msg.find(p + ":4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'trainer.lrr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean trainer.lr?"), std::string::npos) << msg;
}

TEST(Config, UnknownSectionSuggestsSection) {
  auto p = write_temp("c.yaml", "trainr:\n  lr: 1e-4\n");
  std::string msg = error_of([&] { load_config(p, {}); });
  EXPECT_NE(msg.find("did you mean trainer?"), std::string::npos) << msg;
}

TEST(Config, FarOffKeyGetsNoSuggestion) {
  std::string msg = error_of([&] { load_config("", {"zzzzzzzzzzzz=1"}); });
  EXPECT_NE(msg.find("unknown key 'zzzzzzzzzzzz'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesKeyValueAndExpectation) {
  std::string msg = error_of([&] { load_config("", {"trainer.lr=abc"}); });
  EXPECT_NE(msg.find("command line: trainer.lr = 'abc': expected a finite number"),
            std::string::npos)
      << msg;
  msg = error_of([&] { load_config("", {"trainer.batch_size=2.5"}); });
  EXPECT_NE(msg.find("trainer.batch_size = '2.5': expected an integer"), std::string::npos) << msg;
  msg = error_of([&] { load_config("", {"run.deterministic=maybe"}); });
  EXPECT_NE(msg.find("expected true or false"), std::string::npos) << msg;
}

TEST(Config, OutOfRangeNamesAllowedRange) {
  std::string msg = error_of([&] { load_config("", {"sample.top_p=1.5"}); });
  EXPECT_NE(msg.find("sample.top_p = '1.5'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allowed: 0 .. 1"), std::string::npos) << msg;
  msg = error_of([&] { load_config("", {"trainer.batch_size=0"}); });
  EXPECT_NE(msg.find("allowed: >= 1"), std::string::npos) << msg;
}

TEST(Config, ChoicesAreListed) {
  std::string msg = error_of([&] { load_config("", {"model.arch=gpt2"}); });
  EXPECT_NE(msg.find("allowed: one of llama, qwen2, qwen3"), std::string::npos) << msg;
  msg = error_of([&] { load_config("", {"model.lora_targets=[q_proj, xx]"}); });
  EXPECT_NE(msg.find("model.lora_targets"), std::string::npos) << msg;
}

TEST(Config, NonFiniteAndStructureErrors) {
  EXPECT_NE(error_of([&] { load_config("", {"trainer.lr=nan"}); }).find("finite"),
            std::string::npos);
  auto p = write_temp("d.yaml", "trainer: 3\n");
  EXPECT_NE(error_of([&] { load_config(p, {}); }).find("'trainer' is a section"),
            std::string::npos);
  p = write_temp("e.yaml", "trainer:\n  lr: [1, 2]\n");
  EXPECT_NE(error_of([&] { load_config(p, {}); }).find("expected a single float"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_config("", {"trainer.lr"}); }).find("dotted.key=value"),
            std::string::npos);
}

TEST(Config, AllErrorsOfAFileAreReportedAndNothingIsApplied) {
  Config c;
  Schema s;
  pgenrm::core::declare_options(s, c);
  auto p = write_temp("f.yaml", "trainer:\n  batch_size: 7\n  lr: x\nmodel:\n  archh: llama\n");
  std::string msg = error_of([&] { s.load_file(p); });
  EXPECT_NE(msg.find(p + ":3"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p + ":5"), std::string::npos) << msg;
  EXPECT_EQ(c.trainer.batch_size, Config{}.trainer.batch_size);  // the valid line was rolled back
}

TEST(Config, BadYamlNamesTheLine) {
  auto p = write_temp("g.yaml", "trainer:\n  lr: [1, 2\n");
  std::string msg = error_of([&] { load_config(p, {}); });
  EXPECT_NE(msg.find("not valid YAML"), std::string::npos) << msg;
  EXPECT_NE(msg.find(p + ":"), std::string::npos) << msg;
}

TEST(Config, MissingFileSaysSo) {
  std::string msg = error_of([&] { load_config("/nonexistent/x.yaml", {}); });
  EXPECT_NE(msg.find("cannot read config file '/nonexistent/x.yaml'"), std::string::npos);
}

TEST(Config, DumpReloadsToTheSameValues) {
  Config c = load_config("", {"trainer.lr=0.000123456789", "run.name=weird: name #1",
                              "model.lora_targets=[k_proj]", "run.out_dir=", "trainer.grad_clip=0",
                              "model.qk_norm=true"});
  std::string text = dump_config(c);
  auto p = write_temp("dump.yaml", text);
  Config back = load_config(p, {});
  EXPECT_EQ(dump_config(back), text);
  EXPECT_DOUBLE_EQ(back.trainer.lr, 0.000123456789);
  EXPECT_EQ(back.run.name, "weird: name #1");
  EXPECT_EQ(back.run.out_dir, "");
  EXPECT_EQ(back.model.lora_targets, std::vector<std::string>{"k_proj"});
  EXPECT_TRUE(back.model.qk_norm);
  // Every declared option appears in the dump.
  Config d;
  Schema s;
  pgenrm::core::declare_options(s, d);
  for (const auto* o : s.options()) {
    std::string leaf = o->key().substr(o->key().rfind('.') + 1);
    EXPECT_NE(text.find(leaf + ":"), std::string::npos) << o->key();
  }
}

TEST(Config, HelpTableListsEveryOption) {
  std::string help = pgenrm::core::config_help();
  Config d;
  Schema s;
  pgenrm::core::declare_options(s, d);
  for (const auto* o : s.options()) EXPECT_NE(help.find(o->key()), std::string::npos) << o->key();
  EXPECT_NE(help.find("peak learning rate"), std::string::npos);
}

TEST(Config, DeclaringAKeyTwiceIsRejected) {
  double a = 0, b = 0;
  Schema s;
  s.add("x.y", &a, "first");
  EXPECT_THROW(s.add("x.y", &b, "second"), pgenrm::Error);
  EXPECT_THROW(s.add("x.y.z", &b, "nested under an option"), pgenrm::Error);
}

TEST(Config, EditDistance) {
  EXPECT_EQ(pgenrm::core::edit_distance("lrr", "lr"), 1u);
  EXPECT_EQ(pgenrm::core::edit_distance("", "abc"), 3u);
  EXPECT_EQ(pgenrm::core::edit_distance("kitten", "sitting"), 3u);
}

TEST(Config, TheShippedRecipesAreValid) {
  for (const auto& entry : std::filesystem::directory_iterator(PGENRM_SOURCE_DIR "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW(load_config(entry.path().string(), {})) << entry.path();
  }
}
