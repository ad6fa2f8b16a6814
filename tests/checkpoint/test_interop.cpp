// Outside readers of our checkpoints: h5py (tools/ref_h5_read.py) reads
// every tensor bit for bit plus the step; h5ls/h5dump list and print it;
// `inspect` names step and stage; `export_hf` writes a directory that
// model::load_hf loads back with identical weights.
//
// Not here: commit protocol (test_commit.cpp), exact resume (test_resume.cpp).
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/inspect.h"
#include "checkpoint/torch_state.h"
#include "helpers.h"
#include "model/hf_io.h"

namespace pgenrm::checkpoint {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::contains;
using testing::expect_bit_identical;
using testing::expect_error;

class InteropTest : public testing::TempDirTest {
 protected:
  // A trained tiny model's state, one parameter kept in bf16.
  CheckpointState trained_state() {
    at::manual_seed(8);
    model_ = model::Transformer(testing::tiny_config());
    auto opt = testing::make_adamw(*model_);
    testing::train_step(*model_, *opt);
    CheckpointState s;
    s.step = 42;
    s.stage = "cre";
    s.counters["policy_version"] = 42;
    s.config_yaml = "model:\n  d_model: 32\ntrain:\n  steps: 100\n";
    s.model_config_json = model::config_to_hf_json(model_->config());
    s.model = capture_model(*model_);
    const OptimizerState o = capture_adamw(*opt, named_parameters(*model_));
    s.optim = o.per_param;
    s.optim_config_json = o.groups_json;
    s.extra["half"] = at::randn({3, 2}).to(at::kBFloat16);
    s.prototypes["centroids"] = at::randn({4, 8});
    return s;
  }

  model::Transformer model_{nullptr};
};

TEST_F(InteropTest, H5pyReadsEveryTensorBitForBit) {
  const CheckpointState s = trained_state();
  const std::string file = save_checkpoint(dir_.string(), s, 0).path;
  const auto [status, out] = testing::run_command(std::string("'") + PGENRM_PYTHON + "' '" PGENRM_SOURCE_DIR
                                                  "/tools/ref_h5_read.py' '" + file + "'");
  ASSERT_EQ(status, 0) << out;
  const json ref = json::parse(out);
  EXPECT_EQ(ref["step"], 42);
  EXPECT_EQ(ref["format"], kFormatVersion);
  EXPECT_EQ(ref["stage"], "cre");
  EXPECT_EQ(ref["config_yaml"], s.config_yaml);
  EXPECT_EQ(ref["counters"]["policy_version"], 42);
  EXPECT_TRUE(ref["all_fletcher32"].get<bool>());
  auto check = [&](const std::string& key, const at::Tensor& t) {
    ASSERT_TRUE(ref["tensors"].contains(key)) << key;
    const json& r = ref["tensors"][key];
    EXPECT_EQ(r["shape"].get<std::vector<int64_t>>(), t.sizes().vec()) << key;
    EXPECT_EQ(r["fnv1a64"], testing::fnv1a64(testing::raw_bytes(t))) << key;
  };
  size_t expected = s.model.size() + s.extra.size() + s.prototypes.size();
  for (const auto& [name, t] : s.model) check("/model/" + name, t);
  for (const auto& [name, fields] : s.optim)
    for (const auto& [field, t] : fields) check("/optim/" + name + "/" + field, t), ++expected;
  check("/extra/half", s.extra.at("half"));
  check("/prototypes/centroids", s.prototypes.at("centroids"));
  EXPECT_EQ(ref["tensors"].size(), expected);
  // Values as h5py (+ the dtype attribute) decode them.
  const at::Tensor norm = s.model.at("model.norm.weight").flatten();
  const auto first = ref["tensors"]["/model/model.norm.weight"]["first"].get<std::vector<double>>();
  ASSERT_EQ(first.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(first[i], norm[static_cast<int64_t>(i)].item<double>());
  EXPECT_EQ(ref["tensors"]["/extra/half"]["dtype"], "bfloat16");
  const auto half = ref["tensors"]["/extra/half"]["first"].get<std::vector<double>>();
  EXPECT_EQ(half[1], s.extra.at("half").flatten()[1].item<double>());
}

TEST_F(InteropTest, H5lsAndH5dumpReadTheFile) {
  const auto [probe, unused] = testing::run_command("command -v h5ls h5dump >/dev/null 2>&1");
  if (probe != 0) GTEST_SKIP() << "hdf5-tools (h5ls, h5dump) not installed";
  const std::string file = save_checkpoint(dir_.string(), trained_state(), 0).path;
  const auto [ls_status, ls] = testing::run_command("h5ls -r '" + file + "' 2>&1");
  ASSERT_EQ(ls_status, 0) << ls;
  EXPECT_TRUE(contains(ls, "/model/model.embed_tokens.weight")) << ls;
  EXPECT_TRUE(contains(ls, "/optim/model.norm.weight/exp_avg_sq")) << ls;
  EXPECT_TRUE(contains(ls, "/meta/step")) << ls;
  const auto [dump_status, dump] = testing::run_command("h5dump -d /meta/step '" + file + "' 2>&1");
  ASSERT_EQ(dump_status, 0) << dump;
  EXPECT_TRUE(contains(dump, "(0): 42")) << dump;
}

TEST_F(InteropTest, InspectNamesStepStageAndSizes) {
  const std::string file = save_checkpoint(dir_.string(), trained_state(), 0).path;
  const std::string text = inspect(file);
  EXPECT_TRUE(contains(text, "step: 42")) << text;
  EXPECT_TRUE(contains(text, "stage: cre")) << text;
  EXPECT_TRUE(contains(text, "policy_version=42")) << text;
  EXPECT_TRUE(contains(text, "complete, size and CRC-32 match")) << text;
  EXPECT_TRUE(contains(text, "datasets without a checksum: 0")) << text;
  EXPECT_TRUE(contains(text, "/model: ")) << text;
  EXPECT_TRUE(contains(text, "llama, d_model 32")) << text;
  EXPECT_TRUE(contains(text, "  steps: 100")) << text;
  fs::resize_file(file, fs::file_size(file) - 1);
  expect_error([&] { inspect(file); }, {"unreadable"});
}

TEST_F(InteropTest, ExportedModelLoadsBackWithIdenticalWeights) {
  const CheckpointState s = trained_state();
  const std::string file = save_checkpoint(dir_.string(), s, 0).path;
  const std::string tokenizer = path("tok.json");
  std::ofstream(tokenizer) << R"({"model":{"type":"WordLevel"}})";
  const std::string out = path("hf");
  export_hf(file, out, tokenizer);
  EXPECT_TRUE(fs::exists(fs::path(out) / "config.json"));
  EXPECT_TRUE(fs::exists(fs::path(out) / "model.safetensors"));
  EXPECT_EQ(testing::read_file(out + "/tokenizer.json"), testing::read_file(tokenizer));
  model::Transformer loaded = model::load_hf(out);
  const TensorMap weights = model::hf_state(*loaded);
  ASSERT_EQ(weights.size(), s.model.size());
  for (const auto& [name, t] : s.model) expect_bit_identical(weights.at(name), t, name);
  EXPECT_EQ(loaded->config().d_ff, 64);
}

TEST_F(InteropTest, ExportRefusesWhatHfFormatCannotHold) {
  CheckpointState s = trained_state();
  s.model["model.layers.0.self_attn.q_proj.lora_A"] = at::zeros({4, 32});
  const std::string with_lora = save_checkpoint(dir_.string(), s, 0).path;
  expect_error([&] { export_hf(with_lora, path("a")); }, {"LoRA", "lora_A"});
  CheckpointState no_config = trained_state();
  no_config.step = 43;
  no_config.model_config_json.clear();
  const std::string bare = save_checkpoint(dir_.string(), no_config, 0).path;
  expect_error([&] { export_hf(bare, path("b")); }, {"model config"});
  expect_error([&] { export_hf(bare, path("c"), path("no-tokenizer.json")); }, {"no-tokenizer.json"});
}

}  // namespace
}  // namespace pgenrm::checkpoint
