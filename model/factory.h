// The model a config asks for: loaded from model.hf_path (a Hugging Face
// directory) or built fresh from the model.* shape, then cast to
// model.dtype, with LoRA adapters (model.lora_*) and activation
// checkpointing applied. The one place that reads core::ModelOptions.
#pragma once

#include "core/options.h"
#include "model/transformer.h"

namespace pgenrm::model {

// `vocab_size` > 0 overrides model.vocab_size for fresh models (the
// tokenizer decides it); ignored when loading a checkpoint.
Transformer build_model(const core::ModelOptions& options, int64_t vocab_size = 0);

}  // namespace pgenrm::model
