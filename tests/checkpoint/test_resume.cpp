// Exact resume of real training: a tiny transformer with a two-group AdamW
// trained k steps, checkpointed, restored into a fresh model and optimizer
// (different init, different RNG position) and trained m more steps must
// match k+m uninterrupted steps bit for bit. Also: RNG state round trips,
// and an incompatible model or optimizer is refused naming the field.
//
// Not here: the commit protocol (test_commit.cpp), export (test_interop.cpp).
#include <random>

#include "checkpoint/checkpoint.h"
#include "checkpoint/torch_state.h"
#include "helpers.h"

namespace pgenrm::checkpoint {
namespace {

namespace fs = std::filesystem;
using testing::expect_bit_identical;
using testing::expect_error;

class ResumeTest : public testing::TempDirTest {
 protected:
  static CheckpointState capture(model::TransformerImpl& m, const torch::optim::AdamW& opt, int64_t step) {
    CheckpointState s;
    s.step = step;
    s.stage = "sft";
    s.model = capture_model(m);
    const OptimizerState o = capture_adamw(opt, named_parameters(m));
    s.optim = o.per_param;
    s.optim_config_json = o.groups_json;
    s.rng[0]["torch_cpu"] = capture_cpu_rng();
    s.model_config_json = model::config_to_hf_json(m.config());
    return s;
  }
  static void restore(model::TransformerImpl& m, torch::optim::AdamW& opt, const CheckpointState& s) {
    restore_model(m, s.model, "test");
    restore_adamw(opt, named_parameters(m), {s.optim, s.optim_config_json}, "test");
    restore_cpu_rng(s.rng.at(0).at("torch_cpu"));
  }
};

TEST_F(ResumeTest, ContinuingAfterRestoreEqualsNeverStopping) {
  constexpr int kBefore = 3, kAfter = 3;
  at::manual_seed(1);
  model::Transformer a(testing::tiny_config());
  auto opt_a = testing::make_adamw(*a);
  for (int i = 0; i < kBefore; ++i) testing::train_step(*a, *opt_a);
  const std::string file = save_checkpoint(dir_.string(), capture(*a, *opt_a, kBefore), 2).path;
  for (int i = 0; i < kAfter; ++i) testing::train_step(*a, *opt_a);
  const TensorMap straight = testing::clone_params(*a);

  at::manual_seed(999);  // another init and another RNG position
  model::Transformer b(testing::tiny_config());
  auto opt_b = testing::make_adamw(*b);
  (void)at::randn({17});
  const CheckpointState s = load_checkpoint(file);
  EXPECT_EQ(s.step, kBefore);
  restore(*b, *opt_b, s);
  for (int i = 0; i < kAfter; ++i) testing::train_step(*b, *opt_b);
  const TensorMap resumed = testing::clone_params(*b);
  ASSERT_EQ(straight.size(), resumed.size());
  for (const auto& [name, t] : straight) expect_bit_identical(t, resumed.at(name), name);

  // The comparison is sensitive: without the optimizer state it diverges.
  at::manual_seed(5);
  model::Transformer c(testing::tiny_config());
  auto opt_c = testing::make_adamw(*c);
  restore_model(*c, s.model, "test");
  restore_cpu_rng(s.rng.at(0).at("torch_cpu"));
  for (int i = 0; i < kAfter; ++i) testing::train_step(*c, *opt_c);
  EXPECT_FALSE(at::equal(straight.at("model.norm.weight"), c->model->norm->weight));
}

TEST_F(ResumeTest, AdamWStateRoundTripsThroughAFile) {
  at::manual_seed(3);
  model::Transformer m(testing::tiny_config());
  auto opt = testing::make_adamw(*m);
  for (int i = 0; i < 2; ++i) testing::train_step(*m, *opt);
  static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).lr(1.2345e-4);
  const CheckpointState saved = capture(*m, *opt, 2);
  const CheckpointState back = load_checkpoint(save_checkpoint(dir_.string(), saved, 0).path);
  ASSERT_EQ(back.optim.size(), saved.optim.size());
  for (const auto& [name, fields] : saved.optim) {
    ASSERT_EQ(fields.size(), 3u) << name;  // exp_avg, exp_avg_sq, step
    for (const auto& [field, t] : fields) expect_bit_identical(t, back.optim.at(name).at(field), name + "/" + field);
  }
  EXPECT_EQ(back.optim.at("model.norm.weight").at("step").item<int64_t>(), 2);

  model::Transformer fresh(testing::tiny_config());
  auto fresh_opt = testing::make_adamw(*fresh);
  restore_adamw(*fresh_opt, named_parameters(*fresh), {back.optim, back.optim_config_json}, "file");
  const auto& o = static_cast<torch::optim::AdamWOptions&>(fresh_opt->param_groups()[0].options());
  EXPECT_EQ(o.lr(), 1.2345e-4);
  EXPECT_EQ(std::get<1>(o.betas()), 0.95);
  EXPECT_EQ(o.weight_decay(), 0.1);
  const OptimizerState again = capture_adamw(*fresh_opt, named_parameters(*fresh));
  EXPECT_EQ(again.groups_json, saved.optim_config_json);
  for (const auto& [name, fields] : saved.optim)
    for (const auto& [field, t] : fields) expect_bit_identical(t, again.per_param.at(name).at(field), name + "/" + field);
}

TEST_F(ResumeTest, Bf16ModelTensorsRoundTrip) {
  at::manual_seed(4);
  model::Transformer m(testing::tiny_config());
  m->to(at::kBFloat16);
  const TensorMap before = testing::clone_params(*m);
  CheckpointState s;
  s.model = capture_model(*m);
  const CheckpointState back = load_checkpoint(save_checkpoint(dir_.string(), s, 0).path);
  model::Transformer other(testing::tiny_config());
  other->to(at::kBFloat16);
  restore_model(*other, back.model, "file");
  for (const auto& [name, t] : before) {
    EXPECT_EQ(back.model.at(name).scalar_type(), at::kBFloat16) << name;
    expect_bit_identical(t, testing::clone_params(*other).at(name), name);
  }
}

TEST_F(ResumeTest, CpuRngStateReproducesTheSameNumbers) {
  at::manual_seed(11);
  (void)at::randn({3});
  CheckpointState s;
  s.rng[0]["torch_cpu"] = capture_cpu_rng();
  s.rng[1]["mt19937_64"] = capture_engine(std::mt19937_64(42));
  const at::Tensor expected = at::randn({1000});
  const CheckpointState back = load_checkpoint(save_checkpoint(dir_.string(), s, 0).path);
  (void)at::rand({5});  // move the generator on
  restore_cpu_rng(back.rng.at(0).at("torch_cpu"));
  expect_bit_identical(at::randn({1000}), expected, "randn after restore");

  std::mt19937_64 engine(1);
  restore_engine(engine, back.rng.at(1).at("mt19937_64"), "rank 1");
  std::mt19937_64 reference(42);
  EXPECT_EQ(engine(), reference());
  expect_error([&] { restore_cpu_rng({1, 2, 3}); }, {"3 bytes", "invalid"});
  expect_error([&] { restore_engine(engine, {'x'}, "rank 1"); }, {"rank 1", "does not parse"});
}

TEST_F(ResumeTest, IncompatibleModelIsRefusedNamingTheField) {
  at::manual_seed(2);
  model::Transformer small(testing::tiny_config());
  const TensorMap saved = capture_model(*small);
  model::ModelConfig wider = testing::tiny_config();
  wider.d_ff = 96;
  model::Transformer other(wider);
  const TensorMap untouched = testing::clone_params(*other);
  expect_error([&] { restore_model(*other, saved, "ckpt-3.h5"); },
               {"ckpt-3.h5", "/model/model.layers.0.mlp.up_proj.weight", "[64, 32]", "[96, 32]"});
  expect_bit_identical(untouched.at("model.norm.weight"), other->model->norm->weight, "nothing changed on refusal");

  TensorMap missing = saved;
  missing.erase("model.norm.weight");
  missing["model.extra.weight"] = at::zeros({2});
  model::Transformer same(testing::tiny_config());
  expect_error([&] { restore_model(*same, missing, "f"); },
               {"/model/model.norm.weight is missing", "/model/model.extra.weight is not in the model"});

  TensorMap retyped = saved;
  retyped["model.norm.weight"] = retyped["model.norm.weight"].to(at::kBFloat16);
  expect_error([&] { restore_model(*same, retyped, "f"); }, {"model.norm.weight", "BFloat16"});
}

TEST_F(ResumeTest, IncompatibleOptimizerIsRefusedNamingTheField) {
  at::manual_seed(6);
  model::Transformer m(testing::tiny_config());
  auto opt = testing::make_adamw(*m);
  testing::train_step(*m, *opt);
  const OptimizerState saved = capture_adamw(*opt, named_parameters(*m));

  // One group instead of two.
  auto single = std::make_unique<torch::optim::AdamW>(m->parameters(), torch::optim::AdamWOptions(1e-3));
  expect_error([&] { restore_adamw(*single, named_parameters(*m), saved, "f.h5"); },
               {"f.h5", "param groups: 2 in the checkpoint, 1 now"});

  // A model whose parameters differ in shape.
  model::ModelConfig wider = testing::tiny_config();
  wider.d_ff = 96;
  model::Transformer w(wider);
  auto wopt = testing::make_adamw(*w);
  expect_error([&] { restore_adamw(*wopt, named_parameters(*w), saved, "f.h5"); },
               {"/optim/model.layers.0.mlp.up_proj.weight/exp_avg", "[64, 32]"});

  // State for a parameter no group holds, and an unparseable group list.
  OptimizerState extra = saved;
  extra.per_param["model.ghost.weight"] = saved.per_param.at("model.norm.weight");
  auto fresh = testing::make_adamw(*m);
  expect_error([&] { restore_adamw(*fresh, named_parameters(*m), extra, "f"); }, {"/optim/model.ghost.weight"});
  OptimizerState broken = saved;
  broken.groups_json = "{}";
  expect_error([&] { restore_adamw(*fresh, named_parameters(*m), broken, "f"); }, {"optim_config"});
  EXPECT_TRUE(fresh->state().empty()) << "a refused restore must leave the optimizer untouched";
}

}  // namespace
}  // namespace pgenrm::checkpoint
