#include "trainer/grpo_stage.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>

#include "core/error.h"

namespace pgenrm::trainer {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Per-token log-probs of the completion positions, [n, T-1] aligned with
// TokenBatch::target_mask.
at::Tensor completion_logprobs(model::TransformerImpl& m, const TokenBatch& b, double temperature,
                               at::Tensor* entropy = nullptr) {
  return model::target_logprobs(m, b.ids_BT, b.keep_BT, b.target_mask, temperature, entropy);
}

}  // namespace

GrpoStage::GrpoStage(model::TransformerImpl& policy, model::TransformerImpl* reference,
                     Learner& learner, GrpoStageConfig cfg, const DataParallel* dp)
    : policy_(policy), reference_(reference), learner_(learner), cfg_(std::move(cfg)), dp_(dp) {
  PGENRM_CHECK(cfg_.knobs.kl_coef == 0 || reference_ != nullptr,
               "grpo.kl_coef > 0 needs a frozen reference model", "keep the SFT model as reference");
  PGENRM_CHECK(cfg_.ppo_epochs >= 1 && cfg_.micro_batch >= 1, "ppo_epochs and micro_batch must be >= 1",
               "check grpo.ppo_epochs and grpo.micro_batch");
}

struct GrpoStage::Local {
  size_t first = 0;                              // global index of this rank's first prompt
  std::vector<std::vector<int64_t>> prompt_ids;  // this rank's prompts
  std::vector<std::vector<int64_t>> tokens;      // [local prompt * G + g]
  std::vector<std::vector<float>> logprobs;      // rollout log-probs; empty: recompute
  std::vector<ChainReward> rewards;
  int64_t prompt_tokens = 0, generated_tokens = 0;
};

uint64_t GrpoStage::sample_step() const { return static_cast<uint64_t>(learner_.steps_done()); }

std::map<std::string, double> GrpoStage::step(const std::vector<GrpoPrompt>& all_prompts,
                                              const RewardFn& reward_fn, uint64_t seed) {
  const int64_t G = cfg_.group_size;
  auto t0 = std::chrono::steady_clock::now();
  const DataParallel one;
  const DataParallel& dp = dp_ ? *dp_ : one;

  // 0. This rank's prompts (all of them on one rank). Groups stay whole.
  const auto [p0, p1] = dp.shard(all_prompts.size());
  const std::vector<GrpoPrompt> prompts(all_prompts.begin() + p0, all_prompts.begin() + p1);

  // 1. Rollout: G chains per prompt from one prefill each; sample indices
  // are global, so a sample does not depend on the number of ranks.
  Local l;
  l.first = p0;
  for (const auto& p : prompts) l.prompt_ids.push_back(p.ids);
  model::SampleParams sp = cfg_.sample;
  sp.seed = seed;
  sp.step = sample_step();
  policy_.eval();
  model::Generation gen;
  if (!l.prompt_ids.empty()) gen = model::generate(policy_, l.prompt_ids, G, sp, static_cast<int64_t>(p0) * G);
  policy_.train();
  const double rollout_s = seconds_since(t0);
  l.tokens = std::move(gen.tokens);
  l.prompt_tokens = gen.prompt_tokens;
  l.generated_tokens = gen.generated_tokens;

  // 2. Rewards.
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::vector<int64_t>> group(l.tokens.begin() + i * G, l.tokens.begin() + (i + 1) * G);
    std::vector<ChainReward> r = reward_fn(prompts[i].item, group);
    PGENRM_CHECK(static_cast<int64_t>(r.size()) == G, "reward function returned the wrong count",
                 "return one ChainReward per completion");
    l.rewards.insert(l.rewards.end(), r.begin(), r.end());
  }
  return update(l, t0, rollout_s);
}

std::map<std::string, double> GrpoStage::step_with_rollouts(const std::vector<GrpoPrompt>& all_prompts,
                                                            const RolloutBatch& all, bool behaviour_from_rollout,
                                                            double rollout_s) {
  const int64_t G = cfg_.group_size;
  const size_t n = all_prompts.size() * static_cast<size_t>(G);
  PGENRM_CHECK(all.tokens.size() == n && all.rewards.size() == n && all.logprobs.size() == n,
               "rollout batch holds " + std::to_string(all.tokens.size()) + " chains for " +
                   std::to_string(all_prompts.size()) + " prompts × G " + std::to_string(G),
               "this is a bug in the rollout path");
  const auto t0 = std::chrono::steady_clock::now() -
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(rollout_s));
  const DataParallel one;
  const DataParallel& dp = dp_ ? *dp_ : one;
  const auto [p0, p1] = dp.shard(all_prompts.size());
  Local l;
  l.first = p0;
  for (size_t i = p0; i < p1; ++i) l.prompt_ids.push_back(all_prompts[i].ids);
  l.tokens.assign(all.tokens.begin() + p0 * G, all.tokens.begin() + p1 * G);
  l.rewards.assign(all.rewards.begin() + p0 * G, all.rewards.begin() + p1 * G);
  if (behaviour_from_rollout) l.logprobs.assign(all.logprobs.begin() + p0 * G, all.logprobs.begin() + p1 * G);
  // Token counts are the whole step's; count them on one rank only (summed below).
  if (dp.is_root()) {
    l.prompt_tokens = all.prompt_tokens;
    l.generated_tokens = all.generated_tokens;
  }
  for (size_t i = 0; i < l.tokens.size(); ++i) {
    PGENRM_CHECK(l.tokens[i].size() <= static_cast<size_t>(cfg_.sample.max_new_tokens),
                 "a rollout chain of " + std::to_string(l.tokens[i].size()) + " tokens exceeds max_new_tokens",
                 "learners and rollout workers must run the same config");
  }
  return update(l, t0, rollout_s);
}

std::map<std::string, double> GrpoStage::update(const Local& l, std::chrono::steady_clock::time_point t0,
                                                 double rollout_s) {
  const int64_t G = cfg_.group_size;
  std::map<std::string, double> m;
  const DataParallel one;
  const DataParallel& dp = dp_ ? *dp_ : one;
  auto sum = [&](double v) { return dp.sum(v); };
  m["rollout_s"] = rollout_s;
  model::SampleParams sp = cfg_.sample;

  // 2. Group-relative advantages.
  std::vector<float> rewards;
  double or_sum = 0, pr_sum = 0, fmt_err = 0, correct = 0;
  for (const auto& x : l.rewards) {
    rewards.push_back(static_cast<float>(x.reward));
    or_sum += x.outcome;
    pr_sum += x.process;
    fmt_err += x.format_error;
    correct += x.outcome > 0.5;
  }
  const double n_local = static_cast<double>(rewards.size());
  at::Tensor r_t = at::tensor(rewards, at::kFloat);
  Advantages adv;
  if (n_local > 0) adv = group_advantages(r_t, G, cfg_.knobs);
  // Metrics over every rank's chains.
  const double n = std::max(1.0, sum(n_local));
  const double r_sum = sum(r_t.sum().item<double>()), r_sq = sum(r_t.square().sum().item<double>());
  const double mean = r_sum / n;
  m["reward_mean"] = mean;
  m["reward_std"] = n > 1 ? std::sqrt(std::max(0.0, (r_sq - n * mean * mean) / (n - 1))) : 0.0;
  m["or_mean"] = sum(or_sum) / n;
  m["or_acc"] = sum(correct) / n;
  m["pr_mean"] = sum(pr_sum) / n;
  m["format_error_rate"] = sum(fmt_err) / n;
  m["dropped_groups"] = sum(static_cast<double>(adv.dropped_groups));
  m["chain_len"] = sum(static_cast<double>(l.generated_tokens)) / n;
  // A fingerprint of the step's chains (token ids at their global sample
  // index), independent of how they were split over ranks or workers: two
  // runs that sampled the same chains log the same value.
  double digest = 0;
  for (size_t s = 0; s < l.tokens.size(); ++s) {
    uint64_t h = 1469598103934665603ULL ^ ((l.first * static_cast<size_t>(G) + s) * 0x9E3779B97F4A7C15ULL);
    for (int64_t t : l.tokens[s]) h = (h ^ static_cast<uint64_t>(t)) * 1099511628211ULL;
    digest += static_cast<double>(h & ((uint64_t{1} << 40) - 1));
  }
  m["chains_digest"] = sum(digest);  // exact: < 2^53 for up to 8192 chains

  // 3. Sequences that take part (zero-variance groups may be dropped).
  std::vector<SeqExample> seqs;
  std::vector<float> seq_adv;
  std::vector<const std::vector<float>*> seq_lp;
  for (int64_t s = 0; s < static_cast<int64_t>(n_local); ++s) {
    if (!adv.keep_N[s].item<bool>() || l.tokens[s].empty()) continue;
    // Past a greedy_after marker the chain was written greedily: context,
    // not an action of the sampling policy, so it is not trained on.
    seqs.push_back({l.prompt_ids[s / G], l.tokens[s], model::sampled_prefix_length(l.tokens[s], sp)});
    seq_adv.push_back(adv.adv_N[s].item<float>());
    if (!l.logprobs.empty()) seq_lp.push_back(&l.logprobs[s]);
  }
  auto t1 = std::chrono::steady_clock::now();
  m["loss"] = m["grad_norm"] = m["kl"] = m["clip_frac"] = m["entropy"] = m["trained_token_share"] = 0;
  m["lr"] = 0;
  // Every rank takes the same branch: no sequence anywhere → no update.
  if (sum(static_cast<double>(seqs.size())) == 0) {
    m["update_s"] = 0;
    m["skipped"] = 1;
    return m;
  }
  std::vector<TokenBatch> micro;
  std::vector<at::Tensor> micro_adv, old_lp, ref_lp;
  double denom = 0, trained = 0, completion = 0;
  for (size_t s = 0; s < seqs.size(); s += cfg_.micro_batch) {
    const size_t e = std::min(seqs.size(), s + cfg_.micro_batch);
    micro.push_back(collate({seqs.begin() + s, seqs.begin() + e}, sp.pad_id));
    micro_adv.push_back(at::tensor(std::vector<float>(seq_adv.begin() + s, seq_adv.begin() + e)));
    denom += cfg_.knobs.agg == "token_mean" ? micro.back().target_tokens : static_cast<double>(e - s);
    trained += static_cast<double>(micro.back().target_tokens);
    for (size_t k = s; k < e; ++k) completion += static_cast<double>(seqs[k].target.size());
  }
  // Share of the kept chains' tokens that the loss covers (< 1 with
  // grpo.score_decoding: greedy).
  m["trained_token_share"] = sum(trained) / std::max(1.0, sum(completion));
  denom = sum(denom);  // the loss is normalised by the global batch; gradients are summed
  // The behaviour policy's log-probs: through the training path (the
  // rollout path's top-p/top-k truncation would bias the ratio) unless the
  // chains came from other weights than these (staleness ≥ 1): then the
  // rollout log-probs, placed at the target positions of each row.
  {
    at::NoGradGuard ng;
    const double temp = sp.temperature > 0 ? sp.temperature : 1.0;
    size_t row0 = 0;
    for (auto& b : micro) {
      if (seq_lp.empty()) {
        old_lp.push_back(completion_logprobs(policy_, b, temp));
      } else {
        at::Tensor lp = at::zeros_like(b.target_mask);
        auto acc = lp.accessor<float, 2>();
        for (int64_t r = 0; r < b.ids_BT.size(0); ++r) {
          const SeqExample& ex = seqs[row0 + r];
          const std::vector<float>& v = *seq_lp[row0 + r];
          for (size_t j = 0; j < v.size(); ++j) acc[r][static_cast<int64_t>(ex.prompt.size() + j) - 1] = v[j];
        }
        old_lp.push_back(lp);
      }
      if (reference_) ref_lp.push_back(completion_logprobs(*reference_, b, temp));
      row0 += static_cast<size_t>(b.ids_BT.size(0));
    }
  }

  // 4. μ epochs of PPO-clipped updates over the same rollouts.
  const double temp = sp.temperature > 0 ? sp.temperature : 1.0;
  double kl = 0, clip = 0, ent = 0, ent_tok = 0;
  for (int64_t epoch = 0; epoch < cfg_.ppo_epochs; ++epoch) {
    StepStats st = learner_.step([&](int64_t i) {
      at::Tensor entropy;
      at::Tensor lp = completion_logprobs(policy_, micro[i], temp, &entropy);
      GrpoLoss gl = grpo_loss(lp, old_lp[i], reference_ ? ref_lp[i] : at::Tensor(), micro_adv[i],
                              micro[i].target_mask, cfg_.knobs, denom);
      gl.loss.backward();
      const double w = micro[i].target_tokens;
      kl += gl.kl * w;
      clip += gl.clip_frac * w;
      ent += (entropy.detach() * micro[i].target_mask).sum().item<double>();
      ent_tok += w;
      return gl.loss.item<double>();
    }, static_cast<int64_t>(micro.size()));
    m["loss"] = st.loss;
    m["grad_norm"] = st.grad_norm;
    m["lr"] = st.lr;
  }
  ent_tok = sum(ent_tok);
  m["kl"] = sum(kl) / std::max(1.0, ent_tok);
  m["clip_frac"] = sum(clip) / std::max(1.0, ent_tok);
  m["entropy"] = sum(ent) / std::max(1.0, ent_tok);
  m["update_s"] = seconds_since(t1);
  m["tokens_per_s"] = sum(static_cast<double>(l.generated_tokens + l.prompt_tokens)) /
                      std::max(1e-9, seconds_since(t0));
  return m;
}

}  // namespace pgenrm::trainer
