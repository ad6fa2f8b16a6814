// Shared pieces of the checkpoint tests: a per-test temp directory, bitwise
// tensor comparison, a tiny transformer with an AdamW like the trainer's,
// byte-level file surgery (truncate, flip) and running shell commands.
//
// Not here: assertions about checkpoint behaviour (the test_*.cpp files).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/optim/adamw.h>

#include "checkpoint/checkpoint.h"
#include "core/error.h"
#include "model/transformer.h"

namespace pgenrm::checkpoint::testing {

namespace fs = std::filesystem;

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);  // bit-identical runs and a quiet shared machine
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("pgenrm_ckpt_" + std::to_string(::getpid()) + "_" + test->test_suite_name() + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string ckpt(int64_t step) const { return path(checkpoint_filename(step)); }

  fs::path dir_;
};

inline std::vector<uint8_t> raw_bytes(const at::Tensor& t) {
  const at::Tensor c = t.detach().cpu().contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  return std::vector<uint8_t>(p, p + c.nbytes());
}

// Same dtype, shape and bits (NaN == NaN here, unlike at::equal).
inline void expect_bit_identical(const at::Tensor& a, const at::Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  EXPECT_EQ(a.scalar_type(), b.scalar_type()) << what;
  EXPECT_EQ(a.sizes().vec(), b.sizes().vec()) << what;
  EXPECT_TRUE(raw_bytes(a) == raw_bytes(b)) << what << " differs";
}

inline void expect_maps_identical(const TensorMap& a, const TensorMap& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << what << ": " << name << " missing";
    expect_bit_identical(t, b.at(name), what + "/" + name);
  }
}

inline std::string fnv1a64(const std::vector<uint8_t>& data) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : data) h = (h ^ b) * 0x100000001B3ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Runs `f`, expecting a pgenrm::Error whose text contains every needle.
inline std::string expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const pgenrm::Error& e) {
    const std::string what = e.what();
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "missing '" << n << "' in: " << what;
    EXPECT_FALSE(e.hint().empty()) << what;
    return what;
  }
  ADD_FAILURE() << "no pgenrm::Error thrown";
  return "";
}

inline bool contains(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }
inline bool any_contains(const std::vector<std::string>& v, const std::string& a, const std::string& b = "") {
  for (const auto& s : v)
    if (contains(s, a) && contains(s, b)) return true;
  return false;
}

// --- a tiny model trained the way the trainer does ------------------------------

inline model::ModelConfig tiny_config() {
  model::ModelConfig c;
  c.vocab_size = 64;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.d_ff = 64;
  c.max_seq_len = 32;
  c.bos_id = 1;
  c.eos_id = 2;
  return c;
}

// Two groups (decay on matrices, none on vectors), as trainer/optim.cpp builds.
inline std::unique_ptr<torch::optim::AdamW> make_adamw(model::TransformerImpl& m) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : m.parameters()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  auto opts = torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).eps(1e-8);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto with_decay = std::make_unique<torch::optim::AdamWOptions>(opts);
  with_decay->weight_decay(0.1);
  auto without = std::make_unique<torch::optim::AdamWOptions>(opts);
  without->weight_decay(0.0);
  groups.emplace_back(decay, std::move(with_decay));
  groups.emplace_back(no_decay, std::move(without));
  return std::make_unique<torch::optim::AdamW>(groups, opts);
}

// One optimizer step on a batch drawn from torch's default CPU generator, so
// the RNG state is part of what a resume must restore.
inline void train_step(model::TransformerImpl& m, torch::optim::AdamW& opt) {
  const int64_t V = m.config().vocab_size;
  const at::Tensor ids_BT = at::randint(V, {4, 12}, at::TensorOptions().dtype(at::kLong));
  const at::Tensor keep_BT = at::ones({4, 11}, at::TensorOptions().dtype(at::kBool));
  const at::Tensor logits = m.forward(ids_BT.slice(1, 0, 11), keep_BT);
  const at::Tensor loss = at::cross_entropy_loss(logits.reshape({-1, V}), ids_BT.slice(1, 1).reshape({-1}));
  opt.zero_grad();
  loss.backward();
  opt.step();
}

inline TensorMap clone_params(model::TransformerImpl& m) {
  TensorMap out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

// --- files ---------------------------------------------------------------------

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Offset of `needle` in `hay`, or -1.
inline int64_t find_bytes(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? -1 : it - hay.begin();
}

// Flips one bit of the byte in the middle of `tensor`'s data inside the file.
inline void flip_byte_in_tensor_data(const std::string& file, const at::Tensor& tensor) {
  std::vector<uint8_t> bytes = read_file(file);
  std::vector<uint8_t> data = raw_bytes(tensor);
  data.resize(std::min<size_t>(data.size(), 64));
  const int64_t offset = find_bytes(bytes, data);
  ASSERT_GE(offset, 0) << "tensor bytes not found in " << file;
  bytes[static_cast<size_t>(offset) + data.size() / 2] ^= 0x10;
  write_file(file, bytes);
}

// stdout of a shell command and its exit status.
inline std::pair<int, std::string> run_command(const std::string& cmd) {
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  return {::pclose(pipe), out};
}

}  // namespace pgenrm::checkpoint::testing
