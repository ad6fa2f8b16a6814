// Bradley–Terry reward model on the same backbone: a scalar head reads the
// final hidden state of the last real token of (prompt + response); the loss
// is −log σ(r(chosen) − r(rejected)). Whether it is personalised depends only
// on the prompt the caller renders (with or without the user's history).
#pragma once

#include <torch/nn/module.h>

#include "model/transformer.h"
#include "trainer/batch.h"

namespace pgenrm::trainer {

class BtModelImpl : public torch::nn::Module {
 public:
  explicit BtModelImpl(model::Transformer backbone);
  // Rewards [B] of right-padded sequences.
  at::Tensor rewards(const at::Tensor& ids_BT, const at::Tensor& keep_BT);

  model::Transformer backbone{nullptr};
  at::Tensor head_w, head_b;  // [C], scalar
};
TORCH_MODULE(BtModel);

// Mean −log σ(r_c − r_r) over pairs; `chosen`/`rejected` hold the same pairs
// in the same order. Also returns the batch's accuracy (r_c > r_r).
at::Tensor bt_loss(BtModelImpl& m, const TokenBatch& chosen, const TokenBatch& rejected,
                   double* accuracy = nullptr);

}  // namespace pgenrm::trainer
