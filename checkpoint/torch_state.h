// Live torch objects ⇄ the plain data of a CheckpointState: module
// parameters by name, a torch::optim::AdamW's per-parameter state
// and param-group hyperparameters keyed by parameter NAME (so another
// process with the same model restores it), and RNG engines as bytes.
//
// Captured tensors are the live ones (detached, not copied): write them
// before the next optimizer step. restore_adamw adopts the loaded tensors
// (moved to the parameter's device, copied only if that differs).
//
// Not here: files (checkpoint/checkpoint.h), the CUDA generators (a CUDA
// build adds them beside the CPU one), optimizers other than AdamW.
#pragma once

#include <sstream>
#include <string>

#include "checkpoint/state.h"
#include "core/error.h"

namespace torch::nn {
class Module;
}
namespace torch::optim {
class AdamW;
}

namespace pgenrm::checkpoint {

// Parameters of `module`, by their dotted names: the live tensors themselves
// (the optimizer knows its parameters by identity). Buffers are left out on
// purpose: ours (RoPE's inv_freq) derive from the config, and /model must
// hold exactly the Hugging Face weights; put stateful buffers in `extra`.
TensorMap named_parameters(const torch::nn::Module& module);
inline TensorMap capture_model(const torch::nn::Module& module) { return named_parameters(module); }

// Copies `saved` into the module's parameters. Every missing,
// unexpected, mis-shaped or differently-typed tensor is listed in one error
// naming it; nothing is changed then.
void restore_model(torch::nn::Module& module, const TensorMap& saved, const std::string& source);

// The state of `opt` (whose parameters must all appear in `named`, e.g.
// named_parameters(model)): per parameter exp_avg, exp_avg_sq, max_exp_avg_sq
// (amsgrad) and step (int64 0-dim), plus the param groups as JSON text (the
// member names in order, lr, betas, eps, weight_decay, amsgrad).
struct OptimizerState {
  std::map<std::string, TensorMap> per_param;
  std::string groups_json;
};
OptimizerState capture_adamw(const torch::optim::AdamW& opt, const TensorMap& named);

// Replaces the state and hyperparameters of `opt` with the saved ones. The
// groups must hold the same parameter names in the same order; shapes must
// match. Errors name the group and the parameter.
void restore_adamw(torch::optim::AdamW& opt, const TensorMap& named, const OptimizerState& saved,
                   const std::string& source);

// torch's default CPU generator (what at::randn/at::randint draw from).
Bytes capture_cpu_rng();
void restore_cpu_rng(const Bytes& state);

// Any standard engine (std::mt19937_64, ...) through its text form, which the
// standard fixes, so the bytes restore on any platform.
template <class Engine>
Bytes capture_engine(const Engine& engine) {
  std::ostringstream os;
  os << engine;
  const std::string s = os.str();
  return Bytes(s.begin(), s.end());
}
template <class Engine>
void restore_engine(Engine& engine, const Bytes& state, const std::string& what) {
  std::istringstream is(std::string(state.begin(), state.end()));
  Engine e;
  is >> e;
  if (is.fail())
    throw Error("RNG state " + what + " (" + std::to_string(state.size()) + " bytes) does not parse",
                "it was saved from a different engine type, or the checkpoint is damaged");
  engine = e;
}

}  // namespace pgenrm::checkpoint
