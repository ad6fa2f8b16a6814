#include "model/hf_io.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "model/safetensors.h"

namespace pgenrm::model {

namespace fs = std::filesystem;

Transformer load_hf(const std::string& dir, c10::ScalarType dtype) {
  ModelConfig cfg = config_from_hf_json((fs::path(dir) / "config.json").string());
  Transformer model(cfg);
  SafetensorsDir files = SafetensorsDir::open(dir);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& name : files.names()) tensors[name] = files.view(name);
  load_state(*model, tensors, dir);
  model->to(dtype);
  return model;
}

void load_state(TransformerImpl& model, const std::map<std::string, at::Tensor>& tensors,
                const std::string& source) {
  at::NoGradGuard no_grad;
  std::set<std::string> seen;
  std::string problems;
  for (auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    if (name.find("lora_") != std::string::npos) continue;
    auto it = tensors.find(name);
    if (it == tensors.end()) {
      problems += "\n  missing tensor " + name;
      continue;
    }
    seen.insert(name);
    if (it->second.sizes() != p.value().sizes()) {
      problems += "\n  " + name + ": shape " + c10::str(it->second.sizes()) + " in the file, " +
                  c10::str(p.value().sizes()) + " in the model";
      continue;
    }
    p.value().copy_(it->second.to(p.value().scalar_type()));
  }
  for (const auto& [name, t] : tensors) {
    if (seen.count(name)) continue;
    if (name == "lm_head.weight" && model.config().tie_embeddings) continue;
    problems += "\n  unexpected tensor " + name;
  }
  if (!problems.empty())
    throw Error("weights in " + source + " do not match the model:" + problems,
                "the checkpoint's config.json must describe these weights; re-export it");
}

std::map<std::string, at::Tensor> hf_state(TransformerImpl& model, c10::ScalarType dtype) {
  at::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> out;
  std::map<std::string, const LinearImpl*> lora;
  for (auto& m : model.named_modules())
    if (auto* lin = m.value()->as<LinearImpl>())
      if (lin->has_lora()) lora[m.key() + ".weight"] = lin;
  for (auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    if (name.find("lora_") != std::string::npos) continue;
    at::Tensor t = p.value().detach();
    if (auto it = lora.find(name); it != lora.end())
      t = t + at::matmul(it->second->lora_B, it->second->lora_A) * it->second->lora_scale;
    if (dtype != c10::ScalarType::Undefined) t = t.to(dtype);
    out[name] = t;
  }
  return out;
}

void save_hf(TransformerImpl& model, const std::string& dir, const std::string& tokenizer_json) {
  fs::create_directories(dir);
  ModelConfig cfg = model.config();
  cfg.dtype = model.lm_head_weight().scalar_type() == at::kBFloat16 ? "bfloat16" : "float32";
  std::ofstream(fs::path(dir) / "config.json") << config_to_hf_json(cfg);
  save_safetensors_dir(dir, hf_state(model), int64_t{5} << 30, {{"format", "pt"}});
  if (!tokenizer_json.empty())
    fs::copy_file(tokenizer_json, fs::path(dir) / "tokenizer.json",
                  fs::copy_options::overwrite_existing);
}

}  // namespace pgenrm::model
