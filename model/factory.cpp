#include "model/factory.h"

#include <ATen/ATen.h>

#include "model/hf_io.h"

namespace pgenrm::model {

Transformer build_model(const core::ModelOptions& o, int64_t vocab_size) {
  const auto dtype = o.dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
  Transformer m{nullptr};
  if (!o.hf_path.empty()) {
    m = load_hf(o.hf_path, dtype);
  } else {
    core::ModelOptions shaped = o;
    if (vocab_size > 0) shaped.vocab_size = vocab_size;
    m = Transformer(config_from_options(shaped));
    m->to(dtype);
  }
  if (o.lora_rank > 0) m->enable_lora(o.lora_rank, o.lora_alpha, o.lora_targets);
  m->set_activation_checkpointing(o.activation_checkpointing);
  return m;
}

}  // namespace pgenrm::model
