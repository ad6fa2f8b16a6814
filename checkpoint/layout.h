// The HDF5 layout of one checkpoint file, private to checkpoint/: which
// group and dataset each CheckpointState field becomes (docs/CHECKPOINTS.md
// is the reader's description of the same thing).
//
// Not here: temp names, fsync, markers (checkpoint/commit.cpp).
#pragma once

#include <string>
#include <vector>

#include "checkpoint/checkpoint.h"
#include "checkpoint/h5.h"

namespace pgenrm::checkpoint::layout {

// Writes a complete file at `path` (truncating it). Throws pgenrm::Error.
void write_state_file(const std::string& path, const CheckpointState& state);

// Reads the parts `options` asks for. Throws pgenrm::Error naming the file
// and the dataset (a failed checksum, a missing group, a newer format).
CheckpointState read_state_file(const std::string& path, const LoadOptions& options);

// Every dataset under "/", depth first, in name order, without reading data.
struct Entry {
  std::string path;  // "/model/model.norm.weight"
  h5::DatasetInfo info;
};
std::vector<Entry> list_datasets(const std::string& path);

}  // namespace pgenrm::checkpoint::layout
