// Sampling from the transformer: one prefill per prompt, then G sequences
// per prompt decoded in one batch from the shared cached prefix. Randomness
// is counter-based — the uniform draw of sequence s at position t is a hash
// of (seed, step, rank, s, t) — so a sample does not depend on how sequences
// were batched: prefix-shared and independent decoding give the same tokens.
//
// Also here: training-side log-probs and entropy from a full forward.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace pgenrm::model {

struct SampleParams {
  double temperature = 1.0;  // 0 = greedy
  double top_p = 1.0;
  int64_t top_k = 0;         // 0 = no limit
  int64_t max_new_tokens = 64;
  std::vector<int64_t> stop_ids;        // generation ends after one of these
  std::vector<std::string> stop_strings;
  // Once a sequence's text ends with one of these, the rest of it is
  // decoded greedily (argmax); the tokens up to and including the marker
  // are sampled as usual. GRPO uses it to sample a chain's analysis and
  // weights but write its scores greedily (grpo.score_decoding).
  std::vector<std::string> greedy_after;
  // Needed only with stop_strings or greedy_after: ids → text.
  std::function<std::string(const std::vector<int64_t>&)> decode_fn;
  uint64_t seed = 0, step = 0, rank = 0;
  int64_t pad_id = 0;
  // Intra-op threads of the decode loop (the prefill keeps the caller's).
  // 0 = auto: one thread when a decode step's largest matrix product is
  // under 2^22 multiply-adds, else the caller's count. A decode step of a
  // small model is hundreds of tiny ops, and waking a sleeping OpenMP
  // thread for each (OMP_WAIT_POLICY=PASSIVE, which pgenrm sets) costs
  // more than the op: on the 2-core VM the demo model decoded 2-3x faster
  // on one thread than on two (docs/PERFORMANCE.md, "Threads").
  int64_t decode_threads = 0;
  // Decode lanes: the rows of a step cut into this many parts, decoded in
  // parallel on worker threads of one intra-op thread each — a CPU's cores
  // used with one hand-off per step instead of a thread wake per op. On
  // the 2-core VM, 2 lanes decoded Ind-16 1.4x and Ind-16/Pro-8 1.5x faster
  // than 2 intra-op threads at 32 pairs per call (docs/PERFORMANCE.md).
  // 0 = auto (CPU): as many lanes as the caller's threads, at most one per
  // row — unless the rows are fewer than the threads and wide enough for
  // the rule above to give them all threads. 1 = no lanes. The tokens do
  // not depend on it (to float rounding).
  int64_t decode_lanes = 0;
};

// The decode loop's thread count under `params` for `rows` sequences per
// step (see SampleParams::decode_threads); CPU only, else the caller's.
int decode_thread_count(const TransformerImpl& model, int64_t rows, const SampleParams& params);
// The decode loop's lane count for `rows` sequences (SampleParams::decode_lanes).
int decode_lane_count(const TransformerImpl& model, int64_t rows, const SampleParams& params);

enum class FinishReason { kStop, kLength };

struct Generation {
  // [prompt * G + g] for prompt index and sample g.
  std::vector<std::vector<int64_t>> tokens;
  // log-prob of each sampled token under the sampling distribution
  // (temperature, top-k, top-p applied); under the plain softmax if greedy.
  std::vector<std::vector<float>> logprobs;
  std::vector<FinishReason> finish;
  int64_t prompt_tokens = 0, generated_tokens = 0;
};

// `sample_index_base` offsets the per-sequence counter s (so sample g of
// prompt i is s = base + i*G + g).
Generation generate(TransformerImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                    int64_t group, const SampleParams& params, int64_t sample_index_base = 0);

// Several generation groups decoded in one loop (continuous batching of
// prompt groups). A group is a set of prompts with G sequences each, its
// own SampleParams and counters, prefilled when it is added. One step
// samples the next token of every unfinished group and runs one decode
// forward over all their rows: the linear maps, MLP and head see every
// row at once, attention runs per group against the group's own cache.
// A group may be added while others decode — Pro-n starts the neighbour
// chains as soon as the user's analysis is written (scaling/scorer.h).
// A group's tokens are those generate() gives it alone (same counters; the
// logits agree to float rounding). generate() is one group run to its end.
class GenerationBatch {
 public:
  explicit GenerationBatch(TransformerImpl& model);
  ~GenerationBatch();
  GenerationBatch(const GenerationBatch&) = delete;
  GenerationBatch& operator=(const GenerationBatch&) = delete;

  // Prefills `prompts` and returns the group's id. Sequence g of prompt i
  // draws with sample index sample_base[i] + g (default: i*G + g).
  size_t add(const std::vector<std::vector<int64_t>>& prompts, int64_t group, const SampleParams& params,
             std::vector<int64_t> sample_base = {});
  // One token for every sequence of every unfinished group, then one
  // decode forward for the groups that go on. False when no group is left.
  bool step();
  bool finished(size_t id) const;
  // The tokens so far [prompt * G + g]; complete once finished(id).
  const Generation& result(size_t id) const;
  size_t size() const { return groups_.size(); }
  // Sequences decoded per step so far (Σ over steps of the rows fed), for
  // cost accounting.
  int64_t decode_rows() const { return decode_rows_; }

 private:
  struct Group;
  struct Lanes;  // the lane layout of the last step, kept while its groups stay
  TransformerImpl& model_;
  std::vector<std::unique_ptr<Group>> groups_;
  std::unique_ptr<Lanes> lanes_;
  int64_t decode_rows_ = 0;
};

// How many leading tokens of a generated sequence were sampled under
// `params.greedy_after`: up to and including the first marker, or all of
// them when no marker occurs (or none is set).
int64_t sampled_prefix_length(const std::vector<int64_t>& tokens, const SampleParams& params);

// The next token of each row of `logits` [B,V] and its log-prob under the
// sampling distribution (the plain softmax when greedy): row b draws with
// counter_uniform(seed, step, rank, sample_index[b], t) by inverting the
// CDF, or takes the argmax when temperature <= 0 or greedy[b] is set.
// pick_tokens runs it as one loop over fp32 CPU logits (the decode loop's
// case) and otherwise as pick_tokens_reference, the same in tensor ops on
// any device; both give the same tokens (test Sampler.PickTokens*).
void pick_tokens(const at::Tensor& logits, const SampleParams& params, const std::vector<int64_t>& sample_index,
                 int64_t t, const std::vector<char>& greedy, int64_t* next, float* logprob);
void pick_tokens_reference(const at::Tensor& logits, const SampleParams& params,
                           const std::vector<int64_t>& sample_index, int64_t t, const std::vector<char>& greedy,
                           int64_t* next, float* logprob);

// Uniform in [0,1) for (seed, step, rank, sample, position). Exposed for tests.
double counter_uniform(uint64_t seed, uint64_t step, uint64_t rank, uint64_t sample,
                       uint64_t position);

// Log-probs of tokens ids[:, t+1] given ids[:, :t+1], at `temperature`:
// logp [B, T-1]; entropy of each predictive distribution if `entropy_out`.
at::Tensor sequence_logprobs(TransformerImpl& model, const at::Tensor& ids_BT,
                             const at::Tensor& keep_BT, double temperature = 1.0,
                             at::Tensor* entropy_out = nullptr);

// As sequence_logprobs, but the vocabulary projection, softmax and entropy
// run only at the predictions where `mask_BT1` ([B, T-1]) is non-zero — the
// target tokens of SFT and GRPO, ~40% of a PSI batch's positions; the
// other entries are 0. Same values as sequence_logprobs at the masked
// positions (up to summation order), ~2.5x less head work on a PSI batch.
at::Tensor target_logprobs(TransformerImpl& model, const at::Tensor& ids_BT,
                           const at::Tensor& keep_BT, const at::Tensor& mask_BT1,
                           double temperature = 1.0, at::Tensor* entropy_out = nullptr);

// Left-pads prompts into ids [N, Tmax] and keep [N, Tmax].
void left_pad(const std::vector<std::vector<int64_t>>& prompts, int64_t pad_id, at::Tensor* ids,
              at::Tensor* keep);

}  // namespace pgenrm::model
