// `checkpoint inspect` and `checkpoint export` as library functions.
// inspect reads metadata and dataset headers only (fast on big files);
// export reads the model tensors through the normal, verifying load path and
// hands them to model/safetensors.h unchanged (dtype kept).
#include "checkpoint/inspect.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/layout.h"
#include "core/error.h"
#include "model/safetensors.h"

namespace pgenrm::checkpoint {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kConfigLines = 15;
const char* const kTensorGroups[] = {"/model/", "/optim/", "/prototypes/", "/extra/"};

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  std::ostringstream os;
  os.precision(u == 0 ? 0 : 3);
  os << std::fixed << b << " " << units[u];
  return os.str();
}

struct GroupSummary {
  int64_t datasets = 0;
  int64_t bytes = 0;
  std::map<std::string, int64_t> dtypes;
};

std::string top_group(const std::string& path) {
  const size_t second = path.find('/', 1);
  return second == std::string::npos ? path : path.substr(0, second);
}

bool is_tensor_path(const std::string& path) {
  for (const char* g : kTensorGroups)
    if (path.rfind(g, 0) == 0) return true;
  return false;
}

std::string model_line(const std::string& config_json) {
  if (config_json.empty()) return "model: (no model config stored)\n";
  try {
    const json j = json::parse(config_json);
    std::ostringstream os;
    os << "model: " << j.value("model_type", "?") << ", d_model " << j.value("hidden_size", 0) << ", layers "
       << j.value("num_hidden_layers", 0) << ", heads " << j.value("num_attention_heads", 0) << "/"
       << j.value("num_key_value_heads", 0) << ", vocab " << j.value("vocab_size", 0) << "\n";
    return os.str();
  } catch (const json::exception&) {
    return "model: (stored config is not valid JSON)\n";
  }
}

std::string config_excerpt(const std::string& yaml) {
  if (yaml.empty()) return "config: (none stored)\n";
  std::istringstream in(yaml);
  std::ostringstream out;
  std::string line;
  int total = 0;
  while (std::getline(in, line)) {
    if (total++ < kConfigLines) out << "  " << line << "\n";
  }
  std::string head = "config (" + std::to_string(total) + " lines";
  head += total > kConfigLines ? ", first " + std::to_string(kConfigLines) + "):\n" : "):\n";
  return head + out.str();
}

std::string groups_section(const std::vector<layout::Entry>& entries) {
  std::map<std::string, GroupSummary> groups;
  int64_t tensors = 0, tensor_bytes = 0, unchecked = 0;
  for (const auto& e : entries) {
    GroupSummary& g = groups[top_group(e.path)];
    ++g.datasets;
    g.bytes += e.info.bytes;
    ++g.dtypes[e.info.dtype];
    if (is_tensor_path(e.path)) ++tensors, tensor_bytes += e.info.bytes;
    if (!e.info.checksummed && e.info.bytes > 0) ++unchecked;
  }
  std::ostringstream os;
  os << "tensors: " << tensors << ", " << human_bytes(static_cast<double>(tensor_bytes)) << "\n";
  os << "datasets without a checksum: " << unchecked << "\n";
  for (const auto& [name, g] : groups) {
    os << "  " << name << ": " << g.datasets << " datasets, " << human_bytes(static_cast<double>(g.bytes)) << " (";
    bool first = true;
    for (const auto& [dtype, n] : g.dtypes) os << (first ? "" : ", ") << dtype << " x" << n, first = false;
    os << ")\n";
  }
  return os.str();
}

// config.json as stored, with torch_dtype naming the dtype of the weights.
std::string export_config(const std::string& config_json, const TensorMap& model, const std::string& path) {
  PGENRM_CHECK(!config_json.empty(), "checkpoint " + path + " stores no model config (/meta/model_config)",
               "it was written without CheckpointState::model_config_json; re-save it from the training run");
  json j;
  try {
    j = json::parse(config_json);
  } catch (const json::exception& e) {
    throw Error("checkpoint " + path + ": /meta/model_config is not valid JSON: " + e.what(), "re-save the checkpoint");
  }
  for (const auto& [name, t] : model)
    if (t.is_floating_point()) {
      j["torch_dtype"] = t.scalar_type() == at::kBFloat16 ? "bfloat16"
                         : t.scalar_type() == at::kHalf   ? "float16"
                                                          : "float32";
      break;
    }
  return j.dump(2) + "\n";
}

}  // namespace

std::string inspect(const std::string& path) {
  LoadOptions meta_only;
  meta_only.tensors = false;
  meta_only.verify_marker = false;  // reported below instead of refused
  const CheckpointState s = load_checkpoint(path, meta_only);
  const auto entries = layout::list_datasets(path);
  const auto problem = verify_checkpoint(path);
  std::ostringstream os;
  os << "checkpoint: " << path << " (" << human_bytes(static_cast<double>(fs::file_size(path))) << ")\n";
  os << "marker: " << (problem ? "REFUSED for resume: " + *problem : "complete, size and CRC-32 match") << "\n";
  os << "step: " << s.step << "\nstage: " << (s.stage.empty() ? "(none)" : s.stage) << "\n";
  os << "code version: " << (s.code_version.empty() ? "(none)" : s.code_version) << "\n";
  if (!s.world_layout.empty()) os << "world layout: " << s.world_layout << "\n";
  if (!s.counters.empty()) {
    os << "counters:";
    for (const auto& [k, v] : s.counters) os << " " << k << "=" << v;
    os << "\n";
  }
  os << "rng: " << s.rng.size() << " rank(s); data streams: " << s.data_streams.size() << "\n";
  os << model_line(s.model_config_json) << groups_section(entries) << config_excerpt(s.config_yaml);
  return os.str();
}

void export_hf(const std::string& path, const std::string& out_dir, const std::string& tokenizer_json) {
  if (!tokenizer_json.empty())
    PGENRM_CHECK(fs::is_regular_file(tokenizer_json), "tokenizer " + tokenizer_json + " does not exist",
                 "pass the tokenizer.json the model was trained with");
  LoadOptions opts;
  opts.optimizer = false;
  const CheckpointState s = load_checkpoint(path, opts);
  for (const auto& [name, t] : s.model)
    PGENRM_CHECK(name.find("lora_") == std::string::npos,
                 "checkpoint " + path + " holds LoRA adapter " + name + ", which Hugging Face format cannot hold",
                 "merge the adapters (model merge_lora) before saving, or export the base weights elsewhere");
  const std::string config = export_config(s.model_config_json, s.model, path);
  fs::create_directories(out_dir);
  model::save_safetensors_dir(out_dir, s.model);
  std::ofstream out(fs::path(out_dir) / "config.json");
  out << config;
  out.close();
  PGENRM_CHECK(out.good(), "cannot write " + (fs::path(out_dir) / "config.json").string(), "check free disk space");
  if (!tokenizer_json.empty())
    fs::copy_file(tokenizer_json, fs::path(out_dir) / "tokenizer.json", fs::copy_options::overwrite_existing);
}

}  // namespace pgenrm::checkpoint
