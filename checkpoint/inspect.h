// What the `pgenrm checkpoint inspect|export` subcommands do, as functions
// the CLI calls: a human-readable summary of a checkpoint, and its model
// written as a Hugging Face directory.
//
// Not here: argument parsing (launch/), the model loader (model/hf_io.h
// reads what export writes).
#pragma once

#include <string>

namespace pgenrm::checkpoint {

// Step, stage, versions, the marker's verdict, tensor count and bytes, one
// line per top-level group, the model's shape and the first lines of the
// resolved config. Throws pgenrm::Error when the file cannot be read.
std::string inspect(const std::string& path);

// Writes config.json (the model config stored in /meta, torch_dtype set to
// the stored weights' dtype), model.safetensors (sharded above 5 GB) and, when
// `tokenizer_json` is not empty, tokenizer.json into `out_dir`. Checksums and
// marker are verified on the way; LoRA adapters must be merged before saving
// (refused otherwise, naming one).
void export_hf(const std::string& path, const std::string& out_dir, const std::string& tokenizer_json = "");

}  // namespace pgenrm::checkpoint
