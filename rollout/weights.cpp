#include "rollout/weights.h"

#include <filesystem>
#include <regex>
#include <vector>

#include "comm/weight_sync.h"
#include "core/error.h"
#include "model/safetensors.h"

namespace pgenrm::rollout {

namespace fs = std::filesystem;

uint64_t state_checksum(const std::map<std::string, at::Tensor>& state) {
  std::vector<at::Tensor> ts;
  for (const auto& [name, t] : state) ts.push_back(t.contiguous());
  return comm::checksum_tensors(ts);
}

Published publish_weights_file(const std::string& dir, int64_t version,
                               const std::map<std::string, at::Tensor>& state, int keep) {
  fs::create_directories(dir);
  Published p;
  p.file = (fs::path(dir) / ("weights-v" + std::to_string(version) + ".safetensors")).string();
  p.checksum = state_checksum(state);
  model::save_safetensors(p.file, state,
                          {{"pgenrm_weights_version", std::to_string(version)},
                           {"pgenrm_checksum", std::to_string(p.checksum)}});
  // Older versions beyond `keep`.
  static const std::regex re(R"(weights-v(\d+)\.safetensors)");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, re) && std::stoll(m[1]) <= version - keep) {
      std::error_code ec;
      fs::remove(e.path(), ec);
    }
  }
  return p;
}

std::map<std::string, at::Tensor> load_weights_file(const std::string& file, int64_t version, uint64_t checksum) {
  const std::string fix = "the learner publishes weights into dist.weights_dir; a worker on another machine "
                          "needs that directory on a shared file system";
  PGENRM_CHECK(fs::exists(file), "published weights " + file + " (version " + std::to_string(version) + ") not found", fix);
  std::map<std::string, at::Tensor> state = model::load_safetensors_dir(file);
  const uint64_t got = state_checksum(state);
  PGENRM_CHECK(got == checksum,
               "weights " + file + " version " + std::to_string(version) + ": checksum " + std::to_string(got) +
                   " differs from the published " + std::to_string(checksum),
               "the file was damaged or overwritten; " + fix);
  return state;
}

}  // namespace pgenrm::rollout
