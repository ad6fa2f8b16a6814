#include "trainer/sft.h"

#include <ATen/ATen.h>

#include "model/generate.h"

namespace pgenrm::trainer {

at::Tensor sft_loss_sum(model::TransformerImpl& model, const TokenBatch& b) {
  at::Tensor logp = model::target_logprobs(model, b.ids_BT, b.keep_BT, b.target_mask);  // [B,T-1]
  return -(logp * b.target_mask).sum();
}

double sft_eval_loss(model::TransformerImpl& model, const std::vector<SeqExample>& ex,
                     int64_t batch_size, int64_t pad_id) {
  at::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  double total = 0;
  int64_t tokens = 0;
  for (size_t i = 0; i < ex.size(); i += batch_size) {
    std::vector<SeqExample> chunk(ex.begin() + i, ex.begin() + std::min(ex.size(), i + batch_size));
    TokenBatch b = collate(chunk, pad_id);
    total += sft_loss_sum(model, b).item<double>();
    tokens += b.target_tokens;
  }
  model.train(was_training);
  return tokens ? total / tokens : 0.0;
}

}  // namespace pgenrm::trainer
