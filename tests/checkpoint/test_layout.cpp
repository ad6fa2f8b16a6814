// Round trips of a CheckpointState through one HDF5 file, field by field and
// bit for bit (every stored dtype, 0-dim and empty tensors, dotted names,
// UTF-8 text), partial loads, and refusals: names HDF5 cannot hold, dtypes we
// do not store, a flipped byte caught by the per-dataset Fletcher32 sum.
//
// Not here: commit protocol and resume discovery (test_commit.cpp), torch
// objects (test_resume.cpp), outside readers (test_interop.cpp).
#include <random>

#include "checkpoint/checkpoint.h"
#include "helpers.h"

namespace pgenrm::checkpoint {
namespace {

namespace fs = std::filesystem;
using testing::expect_bit_identical;
using testing::expect_error;
using testing::expect_maps_identical;

class LayoutTest : public testing::TempDirTest {};

// Random bit patterns of `dtype` (NaN payloads included; bools 0/1).
at::Tensor random_tensor(c10::ScalarType dtype, std::vector<int64_t> shape, std::mt19937& rng) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  auto* p = static_cast<uint8_t*>(t.data_ptr());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = dtype == at::kBool ? rng() % 2 : static_cast<uint8_t>(rng());
  return t;
}

CheckpointState full_state() {
  std::mt19937 rng(7);
  CheckpointState s;
  s.step = 1234;
  s.stage = "curriculum";
  s.counters = {{"policy_version", 77}, {"schedule.position", 1234}, {"negative", -5}};
  s.config_yaml = "model:\n  d_model: 32\ntrain:\n  lr: 3.0e-4  # ünïcödé ok\n";
  s.code_version = "v0.1.0-42-gdeadbee";
  s.world_layout = R"({"learners":2,"rollout":[2,3]})";
  s.model_config_json = R"({"model_type":"llama"})";
  s.optim_config_json = R"([{"params":["a"],"lr":0.001}])";
  using c10::ScalarType;
  for (auto dtype : {ScalarType::Float, ScalarType::Double, ScalarType::BFloat16, ScalarType::Half, ScalarType::Long,
                     ScalarType::Int, ScalarType::Short, ScalarType::Char, ScalarType::Byte, ScalarType::Bool,
                     ScalarType::UInt16, ScalarType::UInt32, ScalarType::UInt64, ScalarType::Float8_e4m3fn,
                     ScalarType::Float8_e5m2})
    s.model["model.layers.0." + std::string(c10::toString(dtype)) + ".weight"] = random_tensor(dtype, {3, 5, 2}, rng);
  s.model["model.big.weight"] = random_tensor(at::kFloat, {700, 513}, rng);  // several chunks
  s.model["scalar"] = at::scalar_tensor(3.5, at::kFloat);
  s.model["empty"] = at::empty({0, 4}, at::kBFloat16);
  s.model["non.contiguous"] = random_tensor(at::kFloat, {4, 6}, rng).t();
  s.optim["model.big.weight"] = {{"exp_avg", random_tensor(at::kFloat, {700, 513}, rng)},
                                 {"step", at::scalar_tensor(12, at::kLong)}};
  s.prototypes["centroids"] = random_tensor(at::kFloat, {8, 16}, rng);
  s.extra["bt_head.weight"] = random_tensor(at::kBFloat16, {1, 32}, rng);
  s.rng[0]["torch_cpu"] = {0, 1, 2, 255, 0};
  s.rng[1]["mt19937_64"] = {'1', ' ', '2'};
  s.rng[1]["empty"] = {};
  s.data_streams["train"] = R"({"cursor":17,"seed":99})";
  s.data_streams["eval.prism"] = "";
  s.curriculum = R"({"p":0.3})";
  s.coordinator = R"({"leases":[]})";
  return s;
}

void expect_states_identical(const CheckpointState& a, const CheckpointState& b) {
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.stage, b.stage);
  EXPECT_EQ(a.counters, b.counters);
  EXPECT_EQ(a.config_yaml, b.config_yaml);
  EXPECT_EQ(a.code_version, b.code_version);
  EXPECT_EQ(a.world_layout, b.world_layout);
  EXPECT_EQ(a.model_config_json, b.model_config_json);
  EXPECT_EQ(a.optim_config_json, b.optim_config_json);
  expect_maps_identical(a.model, b.model, "model");
  ASSERT_EQ(a.optim.size(), b.optim.size());
  for (const auto& [name, fields] : a.optim) expect_maps_identical(fields, b.optim.at(name), "optim/" + name);
  expect_maps_identical(a.prototypes, b.prototypes, "prototypes");
  expect_maps_identical(a.extra, b.extra, "extra");
  EXPECT_EQ(a.rng, b.rng);
  EXPECT_EQ(a.data_streams, b.data_streams);
  EXPECT_EQ(a.curriculum, b.curriculum);
  EXPECT_EQ(a.coordinator, b.coordinator);
}

TEST_F(LayoutTest, EveryFieldRoundTripsBitForBit) {
  const CheckpointState s = full_state();
  const CommitInfo info = save_checkpoint(dir_.string(), s, 0);
  EXPECT_EQ(info.path, ckpt(1234));
  const CheckpointState back = load_checkpoint(info.path);
  expect_states_identical(s, back);
  EXPECT_EQ(back.model.at("scalar").dim(), 0);
  EXPECT_TRUE(back.model.at("non.contiguous").is_contiguous());
}

TEST_F(LayoutTest, EmptyStateRoundTrips) {
  CheckpointState s;
  const CommitInfo info = save_checkpoint(dir_.string(), s, 0);
  expect_states_identical(s, load_checkpoint(info.path));
}

TEST_F(LayoutTest, PartialLoadsSkipTensorsOrOptimizer) {
  const CheckpointState s = full_state();
  const std::string file = save_checkpoint(dir_.string(), s, 0).path;
  LoadOptions no_optim;
  no_optim.optimizer = false;
  const CheckpointState a = load_checkpoint(file, no_optim);
  EXPECT_TRUE(a.optim.empty());
  EXPECT_EQ(a.model.size(), s.model.size());
  LoadOptions meta_only;
  meta_only.tensors = false;
  const CheckpointState b = load_checkpoint(file, meta_only);
  EXPECT_TRUE(b.model.empty());
  EXPECT_EQ(b.step, 1234);
  EXPECT_EQ(b.rng, s.rng);
  EXPECT_EQ(b.config_yaml, s.config_yaml);
}

TEST_F(LayoutTest, NamesHdf5CannotHoldAreRefusedAndLeaveNothing) {
  CheckpointState s;
  s.step = 3;
  s.model["bad/name"] = at::zeros({2});
  expect_error([&] { save_checkpoint(dir_.string(), s, 0); }, {"bad/name", "/model"});
  EXPECT_TRUE(fs::is_empty(dir_)) << "a failed save must leave no file behind";
  CheckpointState t;
  t.data_streams[""] = "{}";
  expect_error([&] { save_checkpoint(dir_.string(), t, 0); }, {"/data", "name ''"});
}

TEST_F(LayoutTest, UnsupportedDtypeAndNulTextAreRefused) {
  CheckpointState s;
  s.model["c"] = at::zeros({2}, at::kComplexFloat);
  expect_error([&] { save_checkpoint(dir_.string(), s, 0); }, {"tensor c", "ComplexFloat"});
  CheckpointState t;
  t.curriculum = std::string("a\0b", 3);
  expect_error([&] { save_checkpoint(dir_.string(), t, 0); }, {"curriculum", "NUL"});
}

TEST_F(LayoutTest, NegativeStepIsRefused) {
  CheckpointState s;
  s.step = -1;
  expect_error([&] { save_checkpoint(dir_.string(), s, 0); }, {"negative"});
}

// The marker's CRC would catch this first; with marker checks off, the
// Fletcher32 sum of the dataset itself must.
TEST_F(LayoutTest, FlippedByteIsCaughtByTheDatasetChecksum) {
  CheckpointState s = full_state();
  const std::string file = save_checkpoint(dir_.string(), s, 0).path;
  testing::flip_byte_in_tensor_data(file, s.model.at("model.big.weight"));
  LoadOptions no_marker;
  no_marker.verify_marker = false;
  expect_error([&] { load_checkpoint(file, no_marker); }, {file, "/model", "model.big.weight", "Fletcher32"});
}

TEST_F(LayoutTest, NotACheckpointIsRefused) {
  testing::write_file(path("junk.h5"), std::vector<uint8_t>(4096, 'x'));
  expect_error([&] { load_checkpoint(path("junk.h5")); }, {"junk.h5", "unreadable"});
  expect_error([&] { load_checkpoint(path("absent.h5")); }, {"absent.h5", "does not exist"});
}

}  // namespace
}  // namespace pgenrm::checkpoint
