// The whole training state one checkpoint holds, as plain data: what a run
// needs to continue exactly where it stopped (docs/CHECKPOINTS.md maps each
// field to its place in the HDF5 file).
//
// Not here: reading or writing (checkpoint/checkpoint.h), capturing the state
// from live torch objects (checkpoint/torch_state.h). Small structured state
// (data cursors, curriculum, coordinator tables) is JSON text that its owner
// serialises: this folder stores it verbatim and never interprets it, so it
// does not depend on data/, trainer/ or coordinator/.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace pgenrm::checkpoint {

using TensorMap = std::map<std::string, at::Tensor>;
using Bytes = std::vector<uint8_t>;

// Version of the on-disk layout written by this code; readers refuse newer.
inline constexpr int64_t kFormatVersion = 1;

struct CheckpointState {
  // --- /meta ---------------------------------------------------------------
  int64_t step = 0;                          // optimizer steps done
  std::string stage;                         // "sft", "cre", "curriculum", ...
  std::map<std::string, int64_t> counters;   // policy version, schedule position, ...
  std::string config_yaml;                   // the resolved config, verbatim
  std::string code_version;                  // git describe / build id
  std::string world_layout;                  // roles and ranks, JSON text
  std::string model_config_json;             // HF config.json text (export needs it)
  std::string optim_config_json;             // param groups: names + hyperparameters

  // --- tensors (dtype and shape kept bit for bit) ----------------------------
  TensorMap model;                           // /model/<parameter name>
  std::map<std::string, TensorMap> optim;    // /optim/<parameter>/<field>
  TensorMap prototypes;                      // /prototypes/<name>
  TensorMap extra;                           // /extra/<name>: anything else

  // --- opaque and JSON state ------------------------------------------------
  std::map<int, std::map<std::string, Bytes>> rng;  // /rng/<rank>/<generator>
  std::map<std::string, std::string> data_streams;  // /data/<stream>: cursor, seed
  std::string curriculum;                           // /curriculum
  std::string coordinator;                          // /coordinator: leases, shards
};

}  // namespace pgenrm::checkpoint
