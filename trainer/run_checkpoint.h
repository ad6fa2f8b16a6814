// Checkpoints of `pgenrm train`: when to save, what a stage hands over, and
// how a resumed run finds its place again (docs/CHECKPOINTS.md, "Resume").
//
// A run is a fixed sequence of stages (run_stages()). A checkpoint names the
// stage in progress and the optimizer steps done in it; stages before it are
// done (their result rows travel in the checkpoint), stages after it have
// not started. What a checkpoint holds for the stage in progress:
//   /model            the stage's trainee (stage 0: the backbone; BT: the
//                     scalar-head model; PSI and later: the reward model,
//                     LoRA adapters included)
//   /extra/reference.* the frozen KL reference of the GRPO stages
//   /optim            the stage's AdamW state; counters: stage_step, trained
//   /rng/0/cpu        torch's CPU generator
//   /data/stage       the stage's data cursors (JSON); /data/rows the result
//                     rows so far
// Every stage starts from a fixed seed (run.seed + its index), so a stage
// resumed at step 0 needs no generator state.
//
// Saves happen every checkpoint.every_steps optimizer steps (counted over
// the whole run: the file name's step), when a stage finishes training (its
// evaluation pending), after each result row, and when a stop was requested
// (core/stop.h, agreed over the learner ranks), after which StopRequested is
// thrown on every rank.
//
// Not here: the HDF5 files (checkpoint/), the stages themselves
// (trainer/pipeline.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checkpoint/state.h"
#include "core/options.h"
#include "trainer/data_parallel.h"

namespace torch::nn {
class Module;
}

namespace pgenrm::trainer {

class Learner;

// stage0, bt_non_personalised, bt_history, psi, cre, curriculum, final, done
const std::vector<std::string>& run_stages();
int64_t stage_index(const std::string& stage);

// What a stage hands to a save. Pointers may be null (nothing of that kind).
struct Snapshot {
  std::string stage;
  int64_t stage_step = 0;   // optimizer steps done in the stage
  bool trained = false;     // the stage's training loop is finished
  const torch::nn::Module* model = nullptr;
  std::string model_config_json;  // config.json of /model (export)
  Learner* learner = nullptr;
  const torch::nn::Module* reference = nullptr;
  std::function<nlohmann::json()> streams;  // the stage's data cursors
};

enum class StagePos { kDone, kCurrent, kAhead };

class RunCheckpointer {
 public:
  // `resume`: "" / "none" (fresh), "auto" (newest sound checkpoint of the
  // run's checkpoint directory, fresh when there is none), a directory or a
  // file (docs/CHECKPOINTS.md). A resumed config that differs from the
  // checkpoint's in a field that changes shapes or data (model.*, world.*,
  // data.*) is refused, naming the field; other differences are warned about.
  //
  // With several learner ranks (`dp`), every rank reads the checkpoint it
  // resumes from (a file system all ranks see), learner rank 0 alone writes,
  // and the others wait for the write to finish; a stop requested on any
  // rank stops all of them at the same step. Generators are seeded alike on
  // every rank (the data shard is what differs), so /rng/0 serves all.
  RunCheckpointer(const core::Config& cfg, const std::string& run_dir, const std::string& resume,
                  const DataParallel& dp);
  const DataParallel& dp() const { return dp_; }

  bool resuming() const { return resumed_.has_value(); }
  const std::string& resumed_from() const { return resumed_path_; }
  const std::string& dir() const { return dir_; }

  StagePos position(const std::string& stage) const;
  // Where the stage in progress stood (position() == kCurrent).
  int64_t stage_step() const;
  bool trained() const;
  nlohmann::json streams() const;
  // From the resumed checkpoint: /model into `m` (same structure: names,
  // shapes and dtypes must match, or an error lists each difference);
  // /extra/reference.* into `ref` (false when the checkpoint has none); the
  // optimizer state and step count of the stage in progress into `learner`
  // (whose model is `m`), then torch's CPU generator.
  void restore_model(torch::nn::Module& m) const;
  bool restore_reference(torch::nn::Module& ref) const;
  void restore_step(Learner& learner, const torch::nn::Module& m) const;

  // Result rows so far, in order (saved with every checkpoint).
  nlohmann::json& rows() { return rows_; }
  bool has_row(const std::string& name) const;

  // After every optimizer step: saves when due or when a stop was requested
  // (then throws core::StopRequested).
  void after_step(const Snapshot& s);
  // Saves now; then throws core::StopRequested if a stop is pending.
  void save(const Snapshot& s);

  int64_t global_step() const { return global_step_; }

 private:
  void write(const Snapshot& s);

  core::Config cfg_;
  const DataParallel& dp_;
  std::string dir_;
  std::optional<checkpoint::CheckpointState> resumed_;
  std::string resumed_path_;
  nlohmann::json rows_ = nlohmann::json::array();
  int64_t global_step_ = 0;
};

}  // namespace pgenrm::trainer
