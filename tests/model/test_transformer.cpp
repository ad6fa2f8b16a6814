// The transformer's own invariants: cached decoding equals the full
// forward, prefix-shared sampling equals independent sampling, padding does
// not change real tokens' logits, LoRA merged equals unmerged, activation
// checkpointing gives the same gradients, and the sampler samples the
// distribution it reports.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "model/generate.h"
#include "model/transformer.h"

using namespace pgenrm::model;

namespace {

ModelConfig tiny(const std::string& arch = "llama") {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 61;
  c.d_model = 48;
  c.n_layers = 2;
  c.n_heads = 6;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.d_ff = 80;
  c.max_seq_len = 128;
  c.init_std = 0.2;  // peaked logits, so greedy choices are unambiguous
  c.qk_norm = arch == "qwen3";
  c.qkv_bias = arch == "qwen2";
  c.tie_embeddings = arch != "qwen2";
  return c;
}

Transformer make_model(const std::string& arch = "llama", uint64_t seed = 7) {
  at::manual_seed(seed);
  Transformer m(tiny(arch));
  m->eval();
  return m;
}

std::vector<std::vector<int64_t>> prompts() {
  return {{3, 14, 15, 9, 26, 5, 35}, {8, 9, 7}, {11, 12, 13, 14, 15}};
}

// Sampled chains' log-probs from the cached decode equal the full forward's.
void expect_decode_equals_forward(Transformer& m, const std::string& when) {
  SampleParams sp;
  sp.max_new_tokens = 12;
  sp.seed = 3;
  Generation g = generate(*m, prompts(), /*group=*/2, sp);
  ASSERT_EQ(g.tokens.size(), 6u);
  at::NoGradGuard ng;
  for (size_t s = 0; s < g.tokens.size(); ++s) {
    std::vector<int64_t> full = prompts()[s / 2];
    const size_t P = full.size();
    full.insert(full.end(), g.tokens[s].begin(), g.tokens[s].end());
    at::Tensor ids = at::tensor(full, at::kLong).unsqueeze(0);
    at::Tensor lp = sequence_logprobs(*m, ids, at::ones_like(ids, at::kBool));
    for (size_t t = 0; t < g.tokens[s].size(); ++t)
      EXPECT_NEAR(lp[0][P - 1 + t].item<float>(), g.logprobs[s][t], 1e-5) << when << ": seq " << s << " t " << t;
  }
}

}  // namespace

class PerArch : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Model, PerArch, ::testing::Values("llama", "qwen2", "qwen3"));

TEST_P(PerArch, CachedDecodeLogprobsEqualFullForward) {
  Transformer m = make_model(GetParam());
  expect_decode_equals_forward(m, "fresh model");
}

// On CPU the decode stacks q/k/v and gate/up weights once and must restack
// when a parameter changes — else a GRPO rollout after an optimizer step
// would decode with the old weights — and use the layers under LoRA.
TEST_P(PerArch, CachedDecodeFollowsParameterUpdatesAndLora) {
  Transformer m = make_model(GetParam());
  expect_decode_equals_forward(m, "before");
  {
    at::NoGradGuard ng;
    for (auto& p : m->parameters()) p.add_(at::randn_like(p) * 0.05);
  }
  expect_decode_equals_forward(m, "after an in-place update");
  m->enable_lora(4, 8.0, {"q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"});
  {
    at::NoGradGuard ng;
    for (auto& p : m->named_parameters())
      if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0.0, 0.1);
  }
  expect_decode_equals_forward(m, "with LoRA adapters");
  m->merge_lora();
  expect_decode_equals_forward(m, "after merging the adapters");
}

// Stacked projections with a bias on some parts only (q and v but not k):
// the stacked bias must keep q's and v's and add nothing to k.
TEST(Transformer, CachedDecodeWithABiasOnSomeProjectionsOnly) {
  Transformer m = make_model("qwen2");
  for (auto& layer : *m->model->layers) {
    auto& a = *layer->as<DecoderLayerImpl>()->self_attn;
    a.k_proj->bias = at::Tensor();
    at::NoGradGuard ng;
    a.q_proj->bias.normal_(0.0, 0.5);  // initialised to zero: make them count
    a.v_proj->bias.normal_(0.0, 0.5);
  }
  expect_decode_equals_forward(m, "k_proj without bias");
}

TEST_P(PerArch, PrefixSharedSamplingEqualsIndependentSampling) {
  Transformer m = make_model(GetParam());
  SampleParams sp;
  sp.max_new_tokens = 10;
  sp.seed = 11;
  sp.top_p = 0.95;
  sp.top_k = 20;
  const int64_t G = 4;
  Generation shared = generate(*m, prompts(), G, sp);
  std::vector<std::vector<int64_t>> repeated;
  for (const auto& p : prompts())
    for (int64_t g = 0; g < G; ++g) repeated.push_back(p);
  Generation indep = generate(*m, repeated, /*group=*/1, sp);
  ASSERT_EQ(shared.tokens.size(), indep.tokens.size());
  std::set<std::vector<int64_t>> distinct;
  for (size_t s = 0; s < shared.tokens.size(); ++s) {
    EXPECT_EQ(shared.tokens[s], indep.tokens[s]) << "sequence " << s;
    for (size_t t = 0; t < shared.logprobs[s].size(); ++t)
      EXPECT_NEAR(shared.logprobs[s][t], indep.logprobs[s][t], 1e-5);
    distinct.insert(shared.tokens[s]);
  }
  EXPECT_GT(distinct.size(), 3u) << "the G samples of a prompt must differ";
}

TEST(Transformer, PaddingDoesNotChangeRealTokens) {
  Transformer m = make_model("qwen3");
  at::NoGradGuard ng;
  std::vector<int64_t> seq = {5, 6, 7, 8, 9};
  at::Tensor alone = m->forward(at::tensor(seq, at::kLong).unsqueeze(0),
                                at::ones({1, 5}, at::kBool));
  at::Tensor ids, keep;
  left_pad({seq, {1, 2, 3, 4, 5, 6, 7, 8}}, 0, &ids, &keep);
  at::Tensor left = m->forward(ids, keep);
  EXPECT_TRUE(at::allclose(left[0].narrow(0, 3, 5), alone[0], 1e-5, 1e-5));
  // Right padding: real tokens first.
  at::Tensor rids = at::zeros({1, 8}, at::kLong), rkeep = at::zeros({1, 8}, at::kBool);
  rids[0].narrow(0, 0, 5).copy_(at::tensor(seq, at::kLong));
  rkeep[0].narrow(0, 0, 5).fill_(true);
  at::Tensor right = m->forward(rids, rkeep);
  EXPECT_TRUE(at::allclose(right[0].narrow(0, 0, 5), alone[0], 1e-5, 1e-5));
  EXPECT_FALSE(at::isnan(left).any().item<bool>());
}

TEST(Transformer, GreedyIsDeterministicAndTopK1IsGreedy) {
  Transformer m = make_model();
  SampleParams greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 8;
  SampleParams k1;
  k1.top_k = 1;
  k1.max_new_tokens = 8;
  k1.seed = 99;
  EXPECT_EQ(generate(*m, prompts(), 1, greedy).tokens, generate(*m, prompts(), 1, k1).tokens);
}

TEST(Transformer, StopTokensEndSequencesAndAreKept) {
  Transformer m = make_model();
  SampleParams sp;
  sp.max_new_tokens = 30;
  sp.seed = 5;
  Generation free_run = generate(*m, {{1, 2, 3}}, 1, sp);
  ASSERT_GE(free_run.tokens[0].size(), 5u);
  sp.stop_ids = {free_run.tokens[0][4]};
  Generation stopped = generate(*m, {{1, 2, 3}}, 1, sp);
  // It stops at the first occurrence of the stop id, which it keeps.
  auto first = std::find(free_run.tokens[0].begin(), free_run.tokens[0].end(), sp.stop_ids[0]);
  std::vector<int64_t> expect(free_run.tokens[0].begin(), first + 1);
  EXPECT_EQ(stopped.tokens[0], expect);
  EXPECT_EQ(stopped.finish[0], FinishReason::kStop);
  EXPECT_EQ(free_run.finish[0], FinishReason::kLength);
}

// A fake decoder: token id t renders as "<t>".
std::string angle_decode(const std::vector<int64_t>& ids) {
  std::string s;
  for (auto t : ids) s += "<" + std::to_string(t) + ">";
  return s;
}

TEST(Transformer, StopStringsUseTheDecoder) {
  Transformer m = make_model();
  SampleParams sp;
  sp.max_new_tokens = 20;
  sp.seed = 5;
  Generation free_run = generate(*m, {{1, 2, 3}}, 1, sp);
  sp.decode_fn = angle_decode;
  sp.stop_strings = {"<" + std::to_string(free_run.tokens[0][2]) + ">"};
  Generation stopped = generate(*m, {{1, 2, 3}}, 1, sp);
  EXPECT_LE(stopped.tokens[0].size(), 3u);
  EXPECT_EQ(stopped.tokens[0].back(), free_run.tokens[0][2]);
}

// greedy_after: a sequence is sampled up to and including the first marker
// (the same tokens as without it: the draws are counter-based), then
// continues greedily, exactly as greedy decoding of prompt + that prefix.
TEST(Transformer, GreedyAfterAMarkerSamplesThePrefixAndDecodesTheRestGreedily) {
  Transformer m = make_model();
  SampleParams sp;
  sp.max_new_tokens = 24;
  sp.seed = 5;
  sp.decode_fn = angle_decode;
  const std::vector<int64_t> prompt = {1, 2, 3};
  const Generation free_run = generate(*m, {prompt}, 3, sp);
  const std::vector<int64_t>& f = free_run.tokens[0];
  ASSERT_GE(f.size(), 8u);
  sp.greedy_after = {"<" + std::to_string(f[3]) + ">"};
  const size_t k = std::find(f.begin(), f.end(), f[3]) - f.begin();  // first occurrence
  const Generation g = generate(*m, {prompt}, 3, sp);
  const std::vector<int64_t>& a = g.tokens[0];
  ASSERT_EQ(a.size(), f.size());
  EXPECT_EQ(std::vector<int64_t>(a.begin(), a.begin() + k + 1), std::vector<int64_t>(f.begin(), f.begin() + k + 1));
  EXPECT_EQ(sampled_prefix_length(a, sp), static_cast<int64_t>(k + 1));
  SampleParams greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = static_cast<int64_t>(a.size() - k - 1);
  std::vector<int64_t> extended = prompt;
  extended.insert(extended.end(), a.begin(), a.begin() + k + 1);
  EXPECT_EQ(generate(*m, {extended}, 1, greedy).tokens[0], std::vector<int64_t>(a.begin() + k + 1, a.end()));
  // The free run went on sampling after the marker (else the test shows nothing).
  EXPECT_NE(std::vector<int64_t>(f.begin() + k + 1, f.end()), std::vector<int64_t>(a.begin() + k + 1, a.end()));
  // A row without the marker is sampled throughout and fully counted.
  for (size_t r = 0; r < g.tokens.size(); ++r) {
    const auto& t = free_run.tokens[r];
    if (std::find(t.begin(), t.end(), f[3]) == t.end()) {
      EXPECT_EQ(g.tokens[r], t);
      EXPECT_EQ(sampled_prefix_length(g.tokens[r], sp), static_cast<int64_t>(t.size()));
    }
  }
  sp.decode_fn = nullptr;
  EXPECT_THROW(generate(*m, {prompt}, 1, sp), std::exception);
}

TEST(Sampler, EmpiricalFrequenciesMatchReportedProbabilities) {
  // With a 1-token generation from one prompt, the sample frequencies over
  // many sequences must match exp(logprob) of each token.
  Transformer m = make_model();
  m->to(at::kFloat);
  SampleParams sp;
  sp.max_new_tokens = 1;
  sp.temperature = 1.5;  // flatten, so several tokens have mass
  sp.seed = 1;
  const int64_t N = 4000;
  Generation g = generate(*m, {{4, 5, 6}}, N, sp);
  std::map<int64_t, int> count;
  std::map<int64_t, double> prob;
  for (int64_t s = 0; s < N; ++s) {
    count[g.tokens[s][0]]++;
    prob[g.tokens[s][0]] = std::exp(g.logprobs[s][0]);
  }
  double total_p = 0;
  for (auto& [tok, c] : count) {
    double p = prob[tok], f = static_cast<double>(c) / N;
    total_p += p;
    EXPECT_NEAR(f, p, 4 * std::sqrt(p * (1 - p) / N) + 1e-3) << "token " << tok;
  }
  EXPECT_GT(total_p, 0.97);
}

TEST(Sampler, CounterUniformIsDeterministicAndSpread) {
  EXPECT_EQ(counter_uniform(1, 2, 3, 4, 5), counter_uniform(1, 2, 3, 4, 5));
  EXPECT_NE(counter_uniform(1, 2, 3, 4, 5), counter_uniform(1, 2, 3, 4, 6));
  EXPECT_NE(counter_uniform(1, 2, 3, 4, 5), counter_uniform(2, 2, 3, 4, 5));
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    double u = counter_uniform(0, 0, 0, i, 0);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.01);
}

TEST(Sampler, PickTokensOnCpuEqualsTheTensorReference) {
  // The decode loop's one-loop picker against the tensor-op reference:
  // the same token and log-prob for every row, under every sampling
  // setting, with some rows past a greedy_after marker.
  at::manual_seed(3);
  const int64_t B = 50, V = 512;  // not a multiple of the loop's 4-row blocks
  // Rows from nearly flat to sharply peaked.
  at::Tensor logits = at::randn({B, V}) * at::linspace(0.1, 8.0, B).unsqueeze(1);
  std::vector<int64_t> index(B);
  for (int64_t b = 0; b < B; ++b) index[b] = 7 * b + 1;
  std::vector<char> greedy(B, 0);
  for (int64_t b = 0; b < B; b += 5) greedy[b] = 1;
  std::vector<SampleParams> settings(5);
  settings[0].temperature = 1.0;
  settings[1].temperature = 0.7;
  settings[2].top_k = 20;
  settings[3].top_p = 0.9;
  settings[4].temperature = 0;
  int64_t differing_draws = 0;
  for (size_t i = 0; i < settings.size(); ++i) {
    SampleParams p = settings[i];
    p.seed = 11 + i;
    std::vector<int64_t> first(B);
    for (int64_t t = 0; t < 12; ++t) {
      std::vector<int64_t> fast(B), ref(B);
      std::vector<float> fast_lp(B), ref_lp(B);
      pick_tokens(logits, p, index, t, greedy, fast.data(), fast_lp.data());
      pick_tokens_reference(logits, p, index, t, greedy, ref.data(), ref_lp.data());
      for (int64_t b = 0; b < B; ++b) {
        ASSERT_EQ(fast[b], ref[b]) << "setting " << i << " row " << b << " t " << t;
        ASSERT_EQ(fast_lp[b], ref_lp[b]) << "setting " << i << " row " << b << " t " << t;
        if (p.temperature <= 0 || greedy[b]) ASSERT_EQ(fast[b], logits[b].argmax().item<int64_t>());
        if (t == 0) first[b] = fast[b];
        differing_draws += fast[b] != first[b];
      }
    }
  }
  EXPECT_GT(differing_draws, 1000);  // the draws do move with t: a real sampler was compared
  // A bf16 row takes the reference path and still agrees with itself.
  std::vector<int64_t> a(B), c(B);
  std::vector<float> la(B), lc(B);
  pick_tokens(logits.to(at::kBFloat16), settings[0], index, 0, greedy, a.data(), la.data());
  pick_tokens_reference(logits.to(at::kBFloat16), settings[0], index, 0, greedy, c.data(), lc.data());
  EXPECT_EQ(a, c);
}

TEST(Lora, MergedEqualsUnmergedAndOnlyAdaptersTrain) {
  Transformer m = make_model("qwen2");
  m->enable_lora(4, 8.0, {"q_proj", "v_proj", "down_proj"});
  int trainable = 0;
  for (auto& p : m->named_parameters())
    if (p.value().requires_grad()) {
      ++trainable;
      EXPECT_NE(p.key().find("lora_"), std::string::npos) << p.key();
    }
  EXPECT_EQ(trainable, 2 * 3 * 2);  // A and B × 3 targets × 2 layers
  {
    at::NoGradGuard ng;
    for (auto& p : m->named_parameters())
      if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0, 0.1);
  }
  at::NoGradGuard ng;
  at::Tensor ids = at::randint(0, 61, {2, 9}, at::kLong);
  at::Tensor keep = at::ones_like(ids, at::kBool);
  at::Tensor before = m->forward(ids, keep);
  Transformer base = make_model("qwen2");
  EXPECT_FALSE(at::allclose(before, base->forward(ids, keep), 1e-4, 1e-4)) << "adapter has effect";
  m->merge_lora();
  for (auto& p : m->named_parameters()) EXPECT_EQ(p.key().find("lora_"), std::string::npos);
  EXPECT_TRUE(at::allclose(before, m->forward(ids, keep), 1e-5, 1e-5));
}

TEST(Transformer, ActivationCheckpointingGivesTheSameGradients) {
  auto grads = [](bool ckpt) {
    Transformer m = make_model("qwen3", 21);
    m->train();
    m->set_activation_checkpointing(ckpt);
    at::manual_seed(4);
    at::Tensor ids = at::randint(0, 61, {3, 10}, at::kLong);
    at::Tensor lp = sequence_logprobs(*m, ids, at::ones_like(ids, at::kBool));
    lp.sum().backward();
    std::vector<at::Tensor> g;
    for (auto& p : m->parameters()) g.push_back(p.grad().clone());
    return g;
  };
  auto a = grads(false), b = grads(true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].defined() && b[i].defined());
    EXPECT_TRUE(at::allclose(a[i], b[i], 1e-5, 1e-6)) << "param " << i;
  }
}

TEST(Transformer, TargetLogprobsEqualTheFullHeadAtTargetsWithTheSameGradients) {
  // target_logprobs runs the vocabulary head only where the mask is set: its
  // values, entropies and gradients must be those of sequence_logprobs there,
  // and exactly 0 elsewhere (padding and prompt positions included).
  at::manual_seed(5);
  at::Tensor ids = at::randint(0, 61, {3, 12}, at::kLong);
  at::Tensor keep = at::ones_like(ids, at::kBool);
  keep[1].narrow(0, 9, 3).fill_(false);  // right padding
  at::Tensor mask = at::zeros({3, 11});
  mask[0].narrow(0, 4, 7).fill_(1);
  mask[1].narrow(0, 5, 3).fill_(1);
  mask[2].narrow(0, 0, 11).fill_(1);
  for (double temp : {1.0, 0.7}) {
    Transformer a = make_model("llama", 9), b = make_model("llama", 9);
    a->train();
    b->train();
    at::Tensor ea, eb;
    at::Tensor la = sequence_logprobs(*a, ids, keep, temp, &ea);
    at::Tensor lb = target_logprobs(*b, ids, keep, mask, temp, &eb);
    EXPECT_TRUE(at::allclose(la * mask, lb, 1e-5, 1e-6)) << "temperature " << temp;
    EXPECT_TRUE(at::allclose(ea * mask, eb, 1e-5, 1e-6)) << "temperature " << temp;
    EXPECT_EQ(lb.masked_select(mask.eq(0)).abs().sum().item<float>(), 0.f);
    ((la * mask).sum() + (ea * mask).sum() * 0.1).backward();
    ((lb * mask).sum() + (eb * mask).sum() * 0.1).backward();
    auto pa = a->parameters(), pb = b->parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {  // equal up to summation order
      const float scale = pa[i].grad().abs().max().item<float>();
      EXPECT_LE((pa[i].grad() - pb[i].grad()).abs().max().item<float>(), 1e-5f * scale + 1e-7f)
          << "param " << i;
    }
  }
}

TEST(Transformer, TooLongInputIsAClearError) {
  Transformer m = make_model();
  at::Tensor ids = at::zeros({1, 200}, at::kLong);
  try {
    m->forward(ids, at::ones_like(ids, at::kBool));
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds model.max_seq_len"), std::string::npos);
  }
}

// The decode loop of a small model runs on one thread (waking a second one
// per tiny op costs more than the op), a wide one on the caller's threads;
// the caller's count is restored, and the tokens do not depend on it.
TEST(DecodeThreads, AutoRuleByProductSizeRestoresTheCallersCountAndKeepsTheTokens) {
  Transformer m = make_model();
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  SampleParams sp;
  // tiny(): d_model 48, widest of d_ff 80 / vocab 61 / heads 48 is 80.
  const int64_t per_row = 48 * 80, threshold_rows = ((int64_t{1} << 22) + per_row - 1) / per_row;
  EXPECT_EQ(decode_thread_count(*m, 16, sp), 1);
  EXPECT_EQ(decode_thread_count(*m, threshold_rows - 1, sp), 1);
  EXPECT_EQ(decode_thread_count(*m, threshold_rows, sp), 2);
  sp.decode_threads = 1;
  EXPECT_EQ(decode_thread_count(*m, threshold_rows, sp), 1);
  sp.decode_threads = 8;  // never more than the caller set
  EXPECT_EQ(decode_thread_count(*m, 16, sp), 2);

  sp.max_new_tokens = 12;
  sp.seed = 5;
  sp.decode_threads = 0;
  Generation one = generate(*m, prompts(), 3, sp);
  EXPECT_EQ(at::get_num_threads(), 2) << "generate() must restore the caller's thread count";
  sp.decode_threads = 2;
  Generation two = generate(*m, prompts(), 3, sp);
  EXPECT_EQ(at::get_num_threads(), 2);
  ASSERT_EQ(one.tokens.size(), two.tokens.size());
  for (size_t s = 0; s < one.tokens.size(); ++s) {
    EXPECT_EQ(one.tokens[s], two.tokens[s]) << "sequence " << s;
    for (size_t t = 0; t < std::min(one.logprobs[s].size(), two.logprobs[s].size()); ++t)
      EXPECT_NEAR(one.logprobs[s][t], two.logprobs[s][t], 1e-5);
  }
  at::set_num_threads(before);
}

// Continuous batching: a group added while another decodes, both run in
// one decode forward, gets the tokens generate() gives it alone, and so does
// the group it joined; per-prompt sample indices choose the counter streams.
TEST_P(PerArch, GroupsJoiningARunningDecodeGetTheTokensTheyGetAlone) {
  Transformer m = make_model(GetParam());
  SampleParams own;
  own.max_new_tokens = 14;
  own.seed = 21;
  own.top_k = 30;
  SampleParams theirs;
  theirs.max_new_tokens = 9;
  theirs.seed = 22;
  theirs.step = 1;
  SampleParams greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 11;
  const std::vector<std::vector<int64_t>> late = {{4, 5, 6, 7, 8, 9, 10, 11, 12}, {30, 31}};
  const std::vector<int64_t> late_base = {40, 7};  // arbitrary, per prompt

  GenerationBatch batch(*m);
  const size_t a = batch.add(prompts(), 3, own);
  size_t b = 0, c = 0;
  int steps = 0;
  while (true) {
    const bool more = batch.step();
    ++steps;
    if (steps == 4) b = batch.add(late, 2, theirs, late_base);
    if (steps == 6) c = batch.add({{17, 18, 19}}, 1, greedy);
    if (!more && steps > 6) break;
  }
  ASSERT_TRUE(batch.finished(a) && batch.finished(b) && batch.finished(c));

  auto same = [](const Generation& x, const Generation& y, const char* what) {
    ASSERT_EQ(x.tokens.size(), y.tokens.size()) << what;
    for (size_t s = 0; s < x.tokens.size(); ++s) {
      EXPECT_EQ(x.tokens[s], y.tokens[s]) << what << " sequence " << s;
      ASSERT_EQ(x.logprobs[s].size(), y.logprobs[s].size());
      for (size_t t = 0; t < x.logprobs[s].size(); ++t) EXPECT_NEAR(x.logprobs[s][t], y.logprobs[s][t], 1e-5);
    }
  };
  same(batch.result(a), generate(*m, prompts(), 3, own), "first group");
  same(batch.result(c), generate(*m, {{17, 18, 19}}, 1, greedy), "greedy group");
  // Per-prompt bases: prompt i of `late` alone with base late_base[i].
  const Generation& joined = batch.result(b);
  for (size_t i = 0; i < late.size(); ++i) {
    Generation alone = generate(*m, {late[i]}, 2, theirs, late_base[i]);
    for (size_t g = 0; g < 2; ++g)
      EXPECT_EQ(joined.tokens[i * 2 + g], alone.tokens[g]) << "joined prompt " << i << " sample " << g;
  }
  // The streams are the per-prompt ones: the default bases give other tokens.
  Generation default_base = generate(*m, late, 2, theirs);
  bool differs = false;
  for (size_t s = 0; s < joined.tokens.size(); ++s) differs |= joined.tokens[s] != default_base.tokens[s];
  EXPECT_TRUE(differs);
}

TEST(MultiCacheDecode, RefusesATokenCountThatDoesNotMatchTheCaches) {
  Transformer m = make_model();
  at::NoGradGuard ng;
  at::Tensor ids, keep;
  left_pad(prompts(), 0, &ids, &keep);
  KVCache c1, c2;
  m->prefill(ids, keep, c1, 2, 4);
  m->prefill(ids, keep, c2, 1, 4);
  try {
    m->decode(at::zeros({8}, at::kLong), std::vector<KVCache*>{&c1, &c2});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("8 tokens for caches holding 9 sequences"), std::string::npos) << e.what();
  }
}

// Decode lanes: one lane per caller thread (at most one per row), none on
// a single thread or a single row; any lane count gives the same tokens.
TEST(DecodeLanes, LaneCountRuleAndTokensIndependentOfTheLanes) {
  Transformer m = make_model();
  const int before = at::get_num_threads();
  at::set_num_threads(2);
  SampleParams sp;
  EXPECT_EQ(decode_lane_count(*m, 1, sp), 1);
  EXPECT_EQ(decode_lane_count(*m, 16, sp), 2);
  EXPECT_EQ(decode_lane_count(*m, 5000, sp), 2);
  sp.decode_lanes = 1;
  EXPECT_EQ(decode_lane_count(*m, 16, sp), 1);
  sp.decode_lanes = 3;
  EXPECT_EQ(decode_lane_count(*m, 16, sp), 3);
  EXPECT_EQ(decode_lane_count(*m, 2, sp), 2);  // never more lanes than rows
  sp.decode_lanes = 0;
  at::set_num_threads(1);
  EXPECT_EQ(decode_lane_count(*m, 16, sp), 1);
  at::set_num_threads(2);

  sp.max_new_tokens = 12;
  sp.seed = 8;
  std::vector<Generation> runs;
  for (int64_t lanes : {1, 2, 3, 5}) {
    sp.decode_lanes = lanes;
    // Three prompts × 2 sequences plus a late single-prompt group of 4, so
    // lanes cut groups both by prompts and by the sequences of one prompt.
    GenerationBatch batch(*m);
    const size_t a = batch.add(prompts(), 2, sp);
    size_t b = 0;
    for (int step = 0;; ++step) {
      const bool more = batch.step();
      if (step == 2) b = batch.add({{5, 6, 7, 8}}, 4, sp, {100});
      if (!more && step >= 2) break;
    }
    Generation both = batch.result(a);
    for (const auto& t : batch.result(b).tokens) both.tokens.push_back(t);
    runs.push_back(both);
    EXPECT_EQ(at::get_num_threads(), 2);
  }
  for (size_t r = 1; r < runs.size(); ++r)
    for (size_t s = 0; s < runs[0].tokens.size(); ++s)
      EXPECT_EQ(runs[r].tokens[s], runs[0].tokens[s]) << "run " << r << " sequence " << s;
  at::set_num_threads(before);
}
