// Weights for rollout workers outside MPI (`pgenrm rollout --coordinator`):
// learner 0 publishes each version as one safetensors file in a directory
// both sides see (the run directory on a cluster's shared file system);
// the notice names the file and the checksum, and the worker verifies it
// after loading. MPI rollout ranks get the same weights by broadcast
// instead (comm/weight_sync.h).
//
// Files are written to a temporary name, fsynced and renamed, so a worker
// never reads a half-written version; the newest `keep` versions stay (a
// one-step-stale worker may still be loading the previous one).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>

namespace pgenrm::rollout {

struct Published {
  std::string file;
  uint64_t checksum = 0;
};

// Checksum of the tensors in name order (comm::checksum_tensors).
uint64_t state_checksum(const std::map<std::string, at::Tensor>& state);

Published publish_weights_file(const std::string& dir, int64_t version,
                               const std::map<std::string, at::Tensor>& state, int keep = 3);

// Throws pgenrm::Error naming the file when it is missing, damaged or its
// checksum (or recorded version) differs from the notice's.
std::map<std::string, at::Tensor> load_weights_file(const std::string& file, int64_t version, uint64_t checksum);

}  // namespace pgenrm::rollout
