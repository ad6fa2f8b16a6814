// Saving, loading and finding checkpoints: one HDF5 file per checkpoint,
// published atomically, with a completion marker that vouches for it.
//
// In a checkpoint directory:
//   ckpt-00000120.h5     the state (layout: docs/CHECKPOINTS.md)
//   ckpt-00000120.done   its completion marker: JSON with the file's size
//                        and CRC-32. Without it the .h5 does not exist for
//                        resume; with a mismatching one it is refused.
//   *.tmp                a save in progress or one that died: never read.
// Commit order: .h5.tmp written → fsync → rename to .h5 → fsync dir →
// marker written the same way. One writer per directory (learner rank 0).
//
// Every dataset carries HDF5's Fletcher32 checksum, verified as it is read;
// the marker's CRC covers the whole file (truncation, metadata, attributes).
// All failures throw pgenrm::Error naming the file (and dataset) with a hint.
//
// Not here: turning live torch objects into a CheckpointState and back
// (checkpoint/torch_state.h), inspect/export (checkpoint/inspect.h), signal
// handling and when to save (the training loop's business).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint/state.h"

namespace pgenrm::checkpoint {

// Exit status of a run that stopped on SIGTERM/SIGUSR1 after writing its
// preemption checkpoint: the SLURM scripts requeue the job on it. Outside
// 0-3 (launch/cli.h), sysexits (64-78) and 126+ (shell, signals).
inline constexpr int kRequeueExitCode = 85;

struct CommitInfo {
  std::string path;     // the published .h5
  std::string marker;   // its .done
  int64_t bytes = 0;
  uint32_t crc32 = 0;
  double seconds = 0;   // everything below, plus renames and pruning
  double write_seconds = 0;   // HDF5 (Fletcher32 included)
  double fsync_seconds = 0;   // data file to stable storage
  double digest_seconds = 0;  // CRC-32 of the file (read back from the page cache)
};

// Writes `state` as dir/ckpt-<step>.h5 (+ marker), creating `dir` if needed,
// then keeps the newest `keep_last` complete checkpoints (0 = keep all) and
// removes leftovers of interrupted saves. Saving a step that already exists
// replaces it (its old marker is removed first).
CommitInfo save_checkpoint(const std::string& dir, const CheckpointState& state, int keep_last);

struct LoadOptions {
  bool tensors = true;          // false: /meta, JSON and RNG state only
  bool optimizer = true;        // false: skip /optim (export, inspection)
  bool verify_marker = true;    // check size + CRC against the marker when one is there
  bool require_marker = false;  // refuse a file without its marker
};

// Reads a checkpoint file. Checksums are verified; a file whose marker
// disagrees with it is refused before HDF5 opens it.
CheckpointState load_checkpoint(const std::string& path, const LoadOptions& options = {});

// Why `path` (a .h5) must not be resumed from, or nullopt when it is sound:
// marker present and parseable, size and CRC match, HDF5 opens it and its
// /meta/step equals the marker's. Does not read tensor data (the CRC already
// covered every byte).
std::optional<std::string> verify_checkpoint(const std::string& path);

// The newest checkpoint in `dir` that verify_checkpoint accepts. Each newer
// one passed over, and each incomplete save newer than the choice, is
// appended to `rejected` as "file: reason" and logged as a warning.
std::optional<std::string> find_latest(const std::string& dir, std::vector<std::string>* rejected = nullptr);

struct Resumed {
  std::string path;
  CheckpointState state;
};
// find_latest, then load; a checkpoint that fails to load (a dataset's
// checksum) is rejected in turn and the next older one tried.
std::optional<Resumed> load_latest(const std::string& dir, std::vector<std::string>* rejected = nullptr,
                                   const LoadOptions& options = {});

// `--resume` semantics: "" or "none" → nullopt (fresh start); "auto" → the
// newest sound checkpoint of `dir` (nullopt when there is none); a directory
// → the same within it; a file → that file, which must verify (error with the
// reason otherwise).
std::optional<std::string> resolve_resume(const std::string& spec, const std::string& dir);

// Names and parsing: ckpt-<step, 8+ digits>.h5 / .done.
std::string checkpoint_filename(int64_t step);
std::string marker_path(const std::string& h5_path);
std::optional<int64_t> step_of_filename(const std::string& filename);  // ckpt-N.h5 only

}  // namespace pgenrm::checkpoint
