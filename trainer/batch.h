// Token sequences → padded training batches. A `SeqExample` is a prompt and
// a target; the loss (SFT) or the policy gradient (GRPO) applies to target
// tokens only. Batches are right-padded; positions count real tokens only,
// so padding side does not change the model's output (model/transformer.h).
//
// Legend: B sequences, T padded length; masks over predictions are [B,T-1]
// (prediction t scores token t+1).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace pgenrm::trainer {

struct SeqExample {
  std::vector<int64_t> prompt;
  std::vector<int64_t> target;
  // Only the first `train_len` target tokens are trained on (target_mask);
  // the rest are context. -1: all of them.
  int64_t train_len = -1;
  int64_t size() const { return static_cast<int64_t>(prompt.size() + target.size()); }
};

struct TokenBatch {
  at::Tensor ids_BT;    // int64
  at::Tensor keep_BT;   // bool, real tokens
  at::Tensor target_mask;  // float [B,T-1]: 1 where the predicted token is a target token
  int64_t target_tokens = 0;
};

TokenBatch collate(const std::vector<SeqExample>& examples, int64_t pad_id);

// Splits example indices into batches of `batch_size`, grouping similar
// lengths inside windows of `window` batches (less padding) and shuffling
// batch order with `seed`. Deterministic for a seed.
std::vector<std::vector<int64_t>> length_bucketed_batches(const std::vector<SeqExample>& examples,
                                                          int64_t batch_size, int64_t window,
                                                          uint64_t seed);

}  // namespace pgenrm::trainer
