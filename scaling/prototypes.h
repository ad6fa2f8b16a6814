// User prototypes (DESIGN.md §7): k centres over the analysis embeddings of
// training users ("members"), each member assigned to its nearest centre,
// and the neighbour retrieval of Pro-n — nearest prototype, then the n
// members of it most similar to the query embedding.
//
// Storage: `to_tensors()` is the whole state as named tensors (centroids,
// member embeddings and assignment, member ids and the build/refine report
// as UTF-8 JSON bytes), so the same map goes into an HDF5 checkpoint's
// /prototypes group (checkpoint::CheckpointState::prototypes) and into
// `prototypes.safetensors` next to an HF model directory; `save` also writes
// `prototypes.json` beside it for a reader.
//
// Not here: k-means (kmeans.h), refinement (refine.h), what is embedded.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace pgenrm::scaling {

struct Prototypes {
  at::Tensor centroids;                 // [k, d] float32
  std::vector<std::string> member_ids;  // [N] user ids
  at::Tensor member_emb;                // [N, d] float32, unit rows
  std::vector<int64_t> assign;          // [N] prototype of each member
  nlohmann::json info = nlohmann::json::object();  // how it was built / refined

  int64_t k() const { return centroids.defined() ? centroids.size(0) : 0; }
  int64_t dim() const { return centroids.defined() ? centroids.size(1) : 0; }
  std::vector<int64_t> sizes() const;  // members per prototype

  // Nearest prototype (squared Euclidean, as k-means assigns) of e [d].
  int64_t nearest(const at::Tensor& e) const;
  // The n members most similar (dot product of unit embeddings) to e, from
  // its nearest prototype; when that prototype has fewer than n members
  // (after `exclude_user`), the rest come from the next-nearest prototypes.
  // Returns member indices, most similar first.
  std::vector<int64_t> neighbours(const at::Tensor& e, int64_t n, const std::string& exclude_user = "") const;
  // Every member to its nearest centroid; returns how many moved.
  int64_t reassign();
  // Member mean per prototype [k, d]; an empty prototype gets its centroid.
  at::Tensor cluster_means() const;

  // Throws pgenrm::Error on an inconsistent state (shapes, ids, assignment).
  void validate() const;
  std::map<std::string, at::Tensor> to_tensors() const;
  static Prototypes from_tensors(const std::map<std::string, at::Tensor>& t);
  // `path` is the .safetensors file; `<stem>.json` is written beside it.
  void save(const std::string& path) const;
  static Prototypes load(const std::string& path);
};

// Members + k-means centres → prototypes (assignment = nearest centre).
Prototypes make_prototypes(std::vector<std::string> member_ids, const at::Tensor& member_emb,
                           const at::Tensor& centroids);

// The prototypes file of a checkpoint: `configured` when set, else
// <checkpoint dir>/prototypes.safetensors.
std::string prototypes_path(const std::string& configured, const std::string& checkpoint_dir);

}  // namespace pgenrm::scaling
