// Training throughput of our trainer path on a ~0.5B config (Qwen2.5-0.5B's
// shape) in bf16 with fp32 master weights (trainer/learner.h), for issue 10's
// check 4: tokens/s, model TFLOP/s and MFU against the card's bf16 peak. It
// writes the config as config.json so tools/device/ref_train_eager.py trains
// the same model in PyTorch eager on the same GPU in the same run.
//
//   bench_train_gpu [--device cuda|cpu] [--size 0.5b|tiny] [--batch B] [--seq T]
//                   [--steps N] [--peak-tflops P] [--config-out DIR]
#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "model/generate.h"
#include "model/model_config.h"
#include "model/transformer.h"
#include "trainer/learner.h"

using namespace pgenrm;

namespace {

model::ModelConfig qwen_0_5b() {
  model::ModelConfig c;
  c.arch = "qwen2";
  c.vocab_size = 151936;
  c.d_model = 896;
  c.n_layers = 24;
  c.n_heads = 14;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.d_ff = 4864;
  c.max_seq_len = 4096;
  c.rope_theta = 1000000.0;
  c.norm_eps = 1e-6;
  c.qkv_bias = true;
  c.tie_embeddings = true;
  c.dtype = "bfloat16";
  return c;
}

model::ModelConfig tiny() {
  model::ModelConfig c = qwen_0_5b();
  c.vocab_size = 1024;
  c.d_model = 128;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 32;
  c.d_ff = 256;
  return c;
}

void sync(const at::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

int main(int argc, char** argv) {
  std::string device = "cuda", size = "0.5b", config_out;
  int64_t batch = 8, seq = 1024, steps = 10;
  double peak = 989.0;  // H100 / H200 SXM bf16 dense TFLOP/s
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--device") device = v;
    else if (k == "--size") size = v;
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--seq") seq = std::stoll(v);
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--peak-tflops") peak = std::stod(v);
    else if (k == "--config-out") config_out = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  const at::Device dev = device == "cuda" ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (dev.is_cuda() && !torch::cuda::is_available()) {
    std::fprintf(stderr, "no CUDA device\n");
    return 3;
  }
  at::globalContext().setAllowTF32CuBLAS(true);
  model::ModelConfig c = size == "tiny" ? tiny() : qwen_0_5b();
  if (!config_out.empty()) {
    std::filesystem::create_directories(config_out);
    std::ofstream(config_out + "/config.json") << model::config_to_hf_json(c);
  }
  at::manual_seed(0);
  model::Transformer m(c);
  m->to(dev, at::kBFloat16);
  m->train();
  trainer::Learner learner(m->parameters(), trainer::ScheduleSpec{1e-4, 0, 1000, 1.0}, 0.0, 1.0);
  at::Tensor ids = at::randint(0, c.vocab_size, {batch, seq}, at::TensorOptions().dtype(at::kLong)).to(dev);
  at::Tensor keep = at::ones_like(ids, at::kBool);
  double last_loss = 0;
  auto step = [&] {
    learner.step([&](int64_t) {
      at::Tensor loss = -model::sequence_logprobs(*m, ids, keep).mean();
      loss.backward();
      return last_loss = loss.item<double>();
    }, 1);
  };
  step();
  step();  // warm-up (allocator, kernels)
  sync(dev);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) step();
  sync(dev);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int64_t n_params = 0;
  for (const auto& p : m->parameters()) n_params += p.numel();
  const double tokens = static_cast<double>(batch) * seq * steps;
  // 6 FLOPs per parameter per token (forward + backward) + attention
  // (QKᵀ and AV, causal half not subtracted), the usual MFU convention.
  const double flops = tokens * (6.0 * n_params + 12.0 * c.n_layers * seq * c.n_heads * c.head_dim);
  const double tflops = flops / secs / 1e12;
  nlohmann::json j = {{"impl", "pgenrm (libtorch, bf16 + fp32 masters)"},
                      {"device", device},
                      {"params", n_params},
                      {"batch", batch},
                      {"seq", seq},
                      {"steps", steps},
                      {"seconds", secs},
                      {"tokens_per_s", tokens / secs},
                      {"model_tflops", tflops},
                      {"mfu", tflops / peak},
                      {"peak_tflops", peak},
                      {"loss", last_loss}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
