// Supervised fine-tuning (PSI, and Stage-0 pretraining): next-token
// cross-entropy on target tokens only, summed and divided by the target
// token count of the whole step (all micro-batches, all ranks), so gradient
// accumulation equals one big batch.
#pragma once

#include "model/transformer.h"
#include "trainer/batch.h"

namespace pgenrm::trainer {

// Σ over target tokens of −log p(token); differentiable. Divide by the
// step's token count before backward.
at::Tensor sft_loss_sum(model::TransformerImpl& model, const TokenBatch& batch);

// Mean per-token loss of `examples` without gradients (evaluation).
double sft_eval_loss(model::TransformerImpl& model, const std::vector<SeqExample>& examples,
                     int64_t batch_size, int64_t pad_id);

}  // namespace pgenrm::trainer
