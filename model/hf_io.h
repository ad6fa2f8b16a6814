// Hugging Face model directories ⇄ our Transformer: config.json +
// model.safetensors (or a sharded index), names one to one.
// Not here: the safetensors format itself (model/safetensors.h), tokenizers.
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "model/transformer.h"

namespace pgenrm::model {

// Builds the model of `dir`/config.json and loads its weights converted to
// `dtype`. Missing, unexpected or mis-shaped tensors are errors naming them.
Transformer load_hf(const std::string& dir, c10::ScalarType dtype = c10::ScalarType::Float);

// Copies `tensors` into the model's parameters (dtype converted). With a tied
// LM head, an `lm_head.weight` in the file is accepted and ignored.
void load_state(TransformerImpl& model, const std::map<std::string, at::Tensor>& tensors,
                const std::string& source);

// The HF-named weights, LoRA adapters merged (W + s·B·A) without changing
// the model, in `dtype` (Undefined = as stored).
std::map<std::string, at::Tensor> hf_state(TransformerImpl& model,
                                           c10::ScalarType dtype = c10::ScalarType::Undefined);

// Writes config.json and model.safetensors into `dir` (created if needed);
// copies `tokenizer_json` there as tokenizer.json when given.
void save_hf(TransformerImpl& model, const std::string& dir, const std::string& tokenizer_json = "");

}  // namespace pgenrm::model
