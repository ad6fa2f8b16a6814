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
  return model::sequence_logprobs(m, b.ids_BT, b.keep_BT, temperature, entropy);
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

std::map<std::string, double> GrpoStage::step(const std::vector<GrpoPrompt>& all_prompts,
                                              const RewardFn& reward_fn, uint64_t seed) {
  const int64_t G = cfg_.group_size;
  std::map<std::string, double> m;
  auto t0 = std::chrono::steady_clock::now();
  const DataParallel one;
  const DataParallel& dp = dp_ ? *dp_ : one;
  auto sum = [&](double v) { return dp.sum(v); };

  // 0. This rank's prompts (all of them on one rank). Groups stay whole.
  const auto [p0, p1] = dp.shard(all_prompts.size());
  const std::vector<GrpoPrompt> prompts(all_prompts.begin() + p0, all_prompts.begin() + p1);

  // 1. Rollout: G chains per prompt from one prefill each; sample indices
  // are global, so a sample does not depend on the number of ranks.
  std::vector<std::vector<int64_t>> prompt_ids;
  for (const auto& p : prompts) prompt_ids.push_back(p.ids);
  model::SampleParams sp = cfg_.sample;
  sp.seed = seed;
  sp.step = static_cast<uint64_t>(learner_.steps_done());
  policy_.eval();
  model::Generation gen;
  if (!prompt_ids.empty()) gen = model::generate(policy_, prompt_ids, G, sp, static_cast<int64_t>(p0) * G);
  policy_.train();
  m["rollout_s"] = seconds_since(t0);

  // 2. Rewards and group-relative advantages.
  std::vector<float> rewards;
  double or_sum = 0, pr_sum = 0, fmt_err = 0, correct = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<std::vector<int64_t>> group(gen.tokens.begin() + i * G, gen.tokens.begin() + (i + 1) * G);
    std::vector<ChainReward> r = reward_fn(prompts[i].item, group);
    PGENRM_CHECK(static_cast<int64_t>(r.size()) == G, "reward function returned the wrong count",
                 "return one ChainReward per completion");
    for (const auto& x : r) {
      rewards.push_back(static_cast<float>(x.reward));
      or_sum += x.outcome;
      pr_sum += x.process;
      fmt_err += x.format_error;
      correct += x.outcome > 0.5;
    }
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
  m["chain_len"] = sum(static_cast<double>(gen.generated_tokens)) / n;

  // 3. Sequences that take part (zero-variance groups may be dropped).
  std::vector<SeqExample> seqs;
  std::vector<float> seq_adv;
  for (int64_t s = 0; s < static_cast<int64_t>(n_local); ++s) {
    if (!adv.keep_N[s].item<bool>() || gen.tokens[s].empty()) continue;
    seqs.push_back({prompt_ids[s / G], gen.tokens[s]});
    seq_adv.push_back(adv.adv_N[s].item<float>());
  }
  auto t1 = std::chrono::steady_clock::now();
  m["loss"] = m["grad_norm"] = m["kl"] = m["clip_frac"] = m["entropy"] = 0;
  m["lr"] = 0;
  // Every rank takes the same branch: no sequence anywhere → no update.
  if (sum(static_cast<double>(seqs.size())) == 0) {
    m["update_s"] = 0;
    m["skipped"] = 1;
    return m;
  }
  std::vector<TokenBatch> micro;
  std::vector<at::Tensor> micro_adv, old_lp, ref_lp;
  double denom = 0;
  for (size_t s = 0; s < seqs.size(); s += cfg_.micro_batch) {
    const size_t e = std::min(seqs.size(), s + cfg_.micro_batch);
    micro.push_back(collate({seqs.begin() + s, seqs.begin() + e}, sp.pad_id));
    micro_adv.push_back(at::tensor(std::vector<float>(seq_adv.begin() + s, seq_adv.begin() + e)));
    denom += cfg_.knobs.agg == "token_mean" ? micro.back().target_tokens : static_cast<double>(e - s);
  }
  denom = sum(denom);  // the loss is normalised by the global batch; gradients are summed
  // The behaviour policy's log-probs through the training path (the rollout
  // path's top-p/top-k truncation would bias the ratio).
  {
    at::NoGradGuard ng;
    const double temp = sp.temperature > 0 ? sp.temperature : 1.0;
    for (auto& b : micro) {
      old_lp.push_back(completion_logprobs(policy_, b, temp));
      if (reference_) ref_lp.push_back(completion_logprobs(*reference_, b, temp));
    }
  }

  // 4. μ epochs of PPO-clipped updates over the same rollouts.
  const double temp = sp.temperature > 0 ? sp.temperature : 1.0;
  double kl = 0, clip = 0, ent = 0, ent_tok = 0;
  for (int64_t epoch = 0; epoch < cfg_.ppo_epochs; ++epoch) {
    StepStats st = learner_.step([&](int64_t i) {
      at::Tensor entropy;
      at::Tensor lp = completion_logprobs(policy_, micro[i], temp, &entropy);
      GrpoLoss l = grpo_loss(lp, old_lp[i], reference_ ? ref_lp[i] : at::Tensor(), micro_adv[i],
                             micro[i].target_mask, cfg_.knobs, denom);
      l.loss.backward();
      const double w = micro[i].target_tokens;
      kl += l.kl * w;
      clip += l.clip_frac * w;
      ent += (entropy.detach() * micro[i].target_mask).sum().item<double>();
      ent_tok += w;
      return l.loss.item<double>();
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
  m["tokens_per_s"] = sum(static_cast<double>(gen.generated_tokens + gen.prompt_tokens)) /
                      std::max(1e-9, seconds_since(t0));
  return m;
}

}  // namespace pgenrm::trainer
