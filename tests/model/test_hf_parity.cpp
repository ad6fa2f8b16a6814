// Logits parity with Hugging Face transformers (the reference), both ways:
// tiny random Llama (Llama-3.1 rope scaling), Qwen2 and Qwen3 models written
// by save_pretrained load through our HF path with the same logits (fp32,
// max abs difference <= 1e-4) and the same 32 greedy tokens; a model we
// write loads back in transformers with the same logits.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cstdlib>
#include <iostream>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "core/error.h"
#include "model/generate.h"
#include "model/factory.h"
#include "model/hf_io.h"
#include <ATen/Context.h>
#include <torch/cuda.h>
#include <tuple>
#include "model/safetensors.h"

using namespace pgenrm::model;
namespace fs = std::filesystem;

namespace {

constexpr double kLogitTol = 1e-4;

void run_python(const std::string& args) {
  std::string cmd = std::string(PGENRM_PYTHON) + " " PGENRM_SOURCE_DIR "/tools/ref_hf_model.py " +
                    args + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "reference failed: " << cmd;
}

std::string fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("pgenrm_hf_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

}  // namespace

class HfParity : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Arch, HfParity, ::testing::Values("llama", "qwen2", "qwen3"));

TEST_P(HfParity, LogitsAndGreedyMatchTransformersBothWays) {
  const std::string arch = GetParam();
  const std::string ref_dir = fresh_dir(arch);
  run_python("make " + arch + " " + ref_dir);
  auto ref = SafetensorsFile::open(ref_dir + "/ref.safetensors");

  Transformer m = load_hf(ref_dir);
  m->eval();
  at::NoGradGuard ng;
  at::Tensor ids = ref.get("input_ids");
  at::Tensor logits = m->forward(ids, at::ones_like(ids, at::kBool));
  double diff = (logits - ref.get("logits")).abs().max().item<double>();
  EXPECT_LE(diff, kLogitTol) << arch << ": max |logit difference| " << diff;
  std::cout << arch << ": max abs logit difference vs transformers " << diff << "\n";

  // Greedy generation of 32 tokens: the reference picked a model whose
  // top-two gap stays far above the tolerance at every step.
  ASSERT_GT(ref.get("gap").item<float>(), 10 * kLogitTol);
  at::Tensor prompt_t = ids[0].narrow(0, 0, 12);
  std::vector<int64_t> prompt(prompt_t.data_ptr<int64_t>(), prompt_t.data_ptr<int64_t>() + 12);
  SampleParams greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 32;
  Generation g = generate(*m, {prompt}, 1, greedy);
  at::Tensor want = ref.get("greedy")[0];
  std::vector<int64_t> want_v(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel());
  EXPECT_EQ(g.tokens[0], want_v);

  // Our writer → transformers' reader.
  const std::string ours = fresh_dir(arch + "_ours");
  save_hf(*m, ours);
  run_python("check " + ours + " " + ref_dir + "/ref.safetensors");
  at::Tensor back = SafetensorsFile::open(ours + "/check.safetensors").get("logits");
  double diff_back = (back - logits).abs().max().item<double>();
  EXPECT_LE(diff_back, kLogitTol) << arch << ": transformers on our export differs by " << diff_back;
  std::cout << arch << ": transformers on our export, max abs difference " << diff_back << "\n";
  fs::remove_all(ref_dir);
  fs::remove_all(ours);
}

// The same on a CUDA device (issue 10), in fp32 (TF32 off) and bf16, against
// transformers on the same GPU in the same dtypes. Skips without a GPU.
TEST_P(HfParity, OnCudaLogitsMatchTransformersInFp32AndBf16) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string arch = GetParam();
  const std::string ref_dir = fresh_dir(arch + "_cuda");
  run_python("make " + arch + " " + ref_dir);
  run_python("cuda " + ref_dir + " " + ref_dir + "/ref.safetensors");
  auto ref = SafetensorsFile::open(ref_dir + "/ref.safetensors");
  auto hf = SafetensorsFile::open(ref_dir + "/cuda.safetensors");
  at::globalContext().setAllowTF32CuBLAS(false);
  const at::Device gpu(at::kCUDA, 0);
  at::NoGradGuard ng;
  const at::Tensor ids = ref.get("input_ids").to(gpu);
  const at::Tensor keep = at::ones_like(ids, at::kBool);
  for (auto [dtype, key, tol] : {std::tuple{at::kFloat, "logits_fp32", kLogitTol},
                                 std::tuple{at::kBFloat16, "logits_bf16", 0.0}}) {
    Transformer m = load_hf(ref_dir, dtype);
    m->to(gpu);
    m->eval();
    const at::Tensor ours = m->forward(ids, keep).to(at::kCPU, at::kFloat);
    const at::Tensor theirs = hf.get(key);
    const double diff = (ours - theirs).abs().max().item<double>();
    const double scale = theirs.abs().max().item<double>();
    std::cout << arch << " on CUDA, " << key << ": max abs logit difference vs transformers " << diff
              << " (logit scale " << scale << ")\n";
    // bf16: both sides round at every op, in different orders; a few bf16
    // ulps of the logit scale.
    EXPECT_LE(diff, tol > 0 ? tol : 0.05 * std::max(1.0, scale)) << arch << " " << key;
  }
  fs::remove_all(ref_dir);
}

TEST(HfIo, MismatchedWeightsNameTheTensor) {
  const std::string dir = fresh_dir("bad");
  run_python("make qwen2 " + dir);
  // Drop one tensor and reshape another.
  auto tensors = load_safetensors_dir(dir);
  tensors.erase("model.layers.1.mlp.up_proj.weight");
  tensors["model.norm.weight"] = at::ones({3});
  tensors["model.extra.weight"] = at::ones({2});
  fs::remove(dir + "/model.safetensors");
  save_safetensors(dir + "/model.safetensors", tensors);
  try {
    load_hf(dir);
    FAIL() << "mismatched weights were accepted";
  } catch (const pgenrm::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("missing tensor model.layers.1.mlp.up_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("model.norm.weight: shape [3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected tensor model.extra.weight"), std::string::npos) << msg;
  }
  fs::remove_all(dir);
}

TEST(HfIo, ConfigRoundTripAndErrors) {
  ModelConfig c;
  c.arch = "qwen3";
  c.qk_norm = true;
  c.rope_scaling.type = "llama3";
  c.extra_eos_ids = {7, 8};
  c.eos_id = 6;
  const std::string dir = fresh_dir("cfg");
  std::ofstream(dir + "/config.json") << config_to_hf_json(c);
  ModelConfig back = config_from_hf_json(dir + "/config.json");
  EXPECT_EQ(config_to_hf_json(back), config_to_hf_json(c));
  std::ofstream(dir + "/config.json") << R"({"model_type": "gpt2", "vocab_size": 10})";
  try {
    config_from_hf_json(dir + "/config.json");
    FAIL();
  } catch (const pgenrm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model_type 'gpt2' is not supported"), std::string::npos);
  }
  std::ofstream(dir + "/config.json") << R"({"model_type": "llama", "vocab_size": 10})";
  try {
    config_from_hf_json(dir + "/config.json");
    FAIL();
  } catch (const pgenrm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing or mistyped field"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(Factory, BuildsFromOptionsOrHfPathWithLora) {
  pgenrm::core::ModelOptions o;
  o.d_model = 32;
  o.n_heads = 2;
  o.n_kv_heads = 1;
  o.n_layers = 1;
  o.arch = "qwen3";
  Transformer fresh = build_model(o, /*vocab_size=*/77);
  EXPECT_EQ(fresh->config().vocab_size, 77);
  EXPECT_TRUE(fresh->config().qk_norm);
  EXPECT_EQ(fresh->config().head_dim, 16);
  const std::string dir = fresh_dir("factory");
  save_hf(*fresh, dir);
  o.hf_path = dir;
  o.lora_rank = 2;
  o.lora_targets = {"q_proj", "o_proj"};
  Transformer loaded = build_model(o);
  int trainable = 0;
  for (auto& p : loaded->named_parameters())
    if (p.value().requires_grad()) {
      ++trainable;
      EXPECT_NE(p.key().find("lora_"), std::string::npos) << p.key();
    }
  EXPECT_EQ(trainable, 4);
  at::NoGradGuard ng;
  at::Tensor ids = at::randint(0, 77, {1, 6}, at::kLong);
  at::Tensor keep = at::ones_like(ids, at::kBool);
  EXPECT_TRUE(at::allclose(fresh->forward(ids, keep), loaded->forward(ids, keep)));
  fs::remove_all(dir);
}
