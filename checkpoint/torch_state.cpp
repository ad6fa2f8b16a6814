// Capturing and restoring module tensors, AdamW state and the CPU generator.
// AdamW's state map is keyed by TensorImpl pointers, which differ from one
// process to the next; the parameter's name is the stable key, so both
// directions go through a pointer → name index of the model.
#include "checkpoint/torch_state.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

namespace pgenrm::checkpoint {

using json = nlohmann::json;
using torch::optim::AdamW;
using torch::optim::AdamWOptions;
using torch::optim::AdamWParamState;

namespace {

const char* const kModelHint =
    "the model config (model.*, LoRA) differs from the run that wrote the checkpoint; "
    "`pgenrm checkpoint inspect` shows what it holds";

std::string shape_str(const at::Tensor& t) { return c10::str(t.sizes()); }

// Parameter identity → name. A detached alias has another TensorImpl but
// the same storage, so the data pointer is the fallback key.
class NameIndex {
 public:
  explicit NameIndex(const TensorMap& named) {
    for (const auto& [name, t] : named) {
      by_impl_.emplace(t.unsafeGetTensorImpl(), name);
      if (t.numel() > 0) by_data_.emplace(t.data_ptr(), name);
    }
  }
  const std::string* find(const at::Tensor& p) const {
    if (auto it = by_impl_.find(p.unsafeGetTensorImpl()); it != by_impl_.end()) return &it->second;
    if (p.numel() > 0)
      if (auto it = by_data_.find(p.data_ptr()); it != by_data_.end()) return &it->second;
    return nullptr;
  }
  const std::string& name_of(const at::Tensor& p, size_t group) const {
    if (const std::string* n = find(p)) return *n;
    throw Error("optimizer group " + std::to_string(group) + " holds a parameter of shape " + shape_str(p) +
                    " that is not among the model's named tensors",
                "pass named_parameters(model) of the model the optimizer was built over");
  }

 private:
  std::unordered_map<const void*, std::string> by_impl_, by_data_;
};

json group_json(const torch::optim::OptimizerParamGroup& group, const json& names) {
  const auto& o = static_cast<const AdamWOptions&>(group.options());
  return {{"params", names},
          {"lr", o.lr()},
          {"betas", {std::get<0>(o.betas()), std::get<1>(o.betas())}},
          {"eps", o.eps()},
          {"weight_decay", o.weight_decay()},
          {"amsgrad", o.amsgrad()}};
}

void apply_group_options(torch::optim::OptimizerParamGroup& group, const json& j) {
  auto& o = static_cast<AdamWOptions&>(group.options());
  o.lr(j.at("lr").get<double>());
  o.betas({j.at("betas").at(0).get<double>(), j.at("betas").at(1).get<double>()});
  o.eps(j.at("eps").get<double>());
  o.weight_decay(j.at("weight_decay").get<double>());
  o.amsgrad(j.at("amsgrad").get<bool>());
}

void check_group_json(const json& g) {
  auto require = [](bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("a group's ") + what);
  };
  require(g.is_object(), "entry is not an object");
  require(g.contains("params") && g["params"].is_array(), "'params' is not a list");
  for (const auto& n : g["params"]) require(n.is_string(), "'params' holds a non-string");
  for (const char* key : {"lr", "eps", "weight_decay"}) require(g.contains(key) && g[key].is_number(), "number is missing");
  require(g.contains("betas") && g["betas"].is_array() && g["betas"].size() == 2 && g["betas"][0].is_number() &&
              g["betas"][1].is_number(),
          "'betas' is not two numbers");
  require(g.contains("amsgrad") && g["amsgrad"].is_boolean(), "'amsgrad' is not a boolean");
}

json parse_groups(const OptimizerState& saved, const std::string& source) {
  try {
    json j = json::parse(saved.groups_json);
    if (!j.is_array()) throw std::runtime_error("not a JSON array");
    for (const auto& g : j) check_group_json(g);
    return j;
  } catch (const std::exception& e) {
    throw Error("checkpoint " + source + ": /meta/optim_config is not a valid AdamW group list (" + e.what() + ")",
                "the checkpoint holds no optimizer state: start the optimizer fresh or use another checkpoint");
  }
}

// Differences between the saved and the current group membership.
std::string compare_groups(const AdamW& opt, const json& groups, const NameIndex& index) {
  if (groups.size() != opt.param_groups().size())
    return "\n  optimizer param groups: " + std::to_string(groups.size()) + " in the checkpoint, " +
           std::to_string(opt.param_groups().size()) + " now";
  std::string problems;
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& params = opt.param_groups()[g].params();
    const auto& names = groups[g].at("params");
    if (names.size() != params.size()) {
      problems += "\n  optimizer group " + std::to_string(g) + ": " + std::to_string(names.size()) +
                  " parameters in the checkpoint, " + std::to_string(params.size()) + " now";
      continue;
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string& now = index.name_of(params[i], g);
      if (names[i].get<std::string>() != now) {
        problems += "\n  optimizer group " + std::to_string(g) + " position " + std::to_string(i) + ": " +
                    names[i].get<std::string>() + " in the checkpoint, " + now + " now";
        break;
      }
    }
  }
  return problems;
}

// A saved field must be a tensor shaped like its parameter.
std::string check_field(const std::string& param, const TensorMap& fields, const char* key, const at::Tensor& p,
                        bool required) {
  auto it = fields.find(key);
  if (it == fields.end()) return required ? "\n  /optim/" + param + "/" + key + " is missing" : "";
  if (it->second.sizes() != p.sizes() || it->second.scalar_type() != p.scalar_type())
    return "\n  /optim/" + param + "/" + key + ": " + shape_str(it->second) + " " +
           c10::toString(it->second.scalar_type()) + " in the checkpoint, parameter is " + shape_str(p) + " " +
           c10::toString(p.scalar_type());
  return "";
}

std::string check_param_state(const std::string& name, const TensorMap& f, const at::Tensor& p, bool amsgrad) {
  std::string problems = check_field(name, f, "exp_avg", p, true) + check_field(name, f, "exp_avg_sq", p, true) +
                         check_field(name, f, "max_exp_avg_sq", p, amsgrad);
  auto step = f.find("step");
  if (step == f.end() || step->second.scalar_type() != at::kLong || step->second.numel() != 1)
    problems += "\n  /optim/" + name + "/step is missing or not one int64";
  return problems;
}

std::unique_ptr<AdamWParamState> make_param_state(const TensorMap& f, const at::Tensor& p) {
  auto st = std::make_unique<AdamWParamState>();
  st->step(f.at("step").item<int64_t>());
  st->exp_avg(f.at("exp_avg").to(p.device()));
  st->exp_avg_sq(f.at("exp_avg_sq").to(p.device()));
  if (auto it = f.find("max_exp_avg_sq"); it != f.end()) st->max_exp_avg_sq(it->second.to(p.device()));
  return st;
}

}  // namespace

TensorMap named_parameters(const torch::nn::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out[p.key()] = p.value();
  return out;
}

void restore_model(torch::nn::Module& module, const TensorMap& saved, const std::string& source) {
  const TensorMap live = named_parameters(module);
  std::string problems;
  for (const auto& [name, t] : live) {
    auto it = saved.find(name);
    if (it == saved.end()) {
      problems += "\n  /model/" + name + " is missing";
    } else if (it->second.sizes() != t.sizes() || it->second.scalar_type() != t.scalar_type()) {
      problems += "\n  /model/" + name + ": " + shape_str(it->second) + " " + c10::toString(it->second.scalar_type()) +
                  " in the checkpoint, " + shape_str(t) + " " + c10::toString(t.scalar_type()) + " in the model";
    }
  }
  for (const auto& [name, t] : saved)
    if (!live.count(name)) problems += "\n  /model/" + name + " is not in the model";
  if (!problems.empty()) throw Error("checkpoint " + source + " does not fit the model:" + problems, kModelHint);
  at::NoGradGuard no_grad;
  for (const auto& [name, t] : live) t.copy_(saved.at(name));
}

OptimizerState capture_adamw(const AdamW& opt, const TensorMap& named) {
  const NameIndex index(named);
  OptimizerState out;
  json groups = json::array();
  for (size_t g = 0; g < opt.param_groups().size(); ++g) {
    const auto& group = opt.param_groups()[g];
    json names = json::array();
    for (const auto& p : group.params()) {
      const std::string& name = index.name_of(p, g);
      names.push_back(name);
      auto it = opt.state().find(p.unsafeGetTensorImpl());
      if (it == opt.state().end()) continue;  // never stepped (no gradient yet)
      const auto& st = static_cast<const AdamWParamState&>(*it->second);
      TensorMap& f = out.per_param[name];
      f["step"] = at::scalar_tensor(st.step(), at::kLong);
      f["exp_avg"] = st.exp_avg();
      f["exp_avg_sq"] = st.exp_avg_sq();
      if (st.max_exp_avg_sq().defined()) f["max_exp_avg_sq"] = st.max_exp_avg_sq();
    }
    groups.push_back(group_json(group, names));
  }
  out.groups_json = groups.dump();
  return out;
}

void restore_adamw(AdamW& opt, const TensorMap& named, const OptimizerState& saved, const std::string& source) {
  const NameIndex index(named);
  const json groups = parse_groups(saved, source);
  std::string problems = compare_groups(opt, groups, index);
  struct Slot {
    at::Tensor param;
    size_t group;
  };
  std::map<std::string, Slot> slots;
  if (problems.empty())
    for (size_t g = 0; g < groups.size(); ++g)
      for (const auto& p : opt.param_groups()[g].params()) slots[index.name_of(p, g)] = {p, g};
  for (const auto& [name, fields] : saved.per_param) {
    auto it = slots.find(name);
    if (it == slots.end()) {
      if (problems.empty()) problems += "\n  /optim/" + name + " belongs to no optimizer group";
      continue;
    }
    const bool amsgrad = groups[it->second.group].at("amsgrad").get<bool>();
    problems += check_param_state(name, fields, it->second.param, amsgrad);
  }
  if (!problems.empty())
    throw Error("checkpoint " + source + ": optimizer state does not fit this optimizer:" + problems, kModelHint);
  // Validated: now replace, so a refused restore leaves the optimizer as it was.
  for (size_t g = 0; g < groups.size(); ++g) apply_group_options(opt.param_groups()[g], groups[g]);
  for (const auto& [name, slot] : slots) opt.state().erase(slot.param.unsafeGetTensorImpl());
  for (const auto& [name, fields] : saved.per_param) {
    const at::Tensor& p = slots.at(name).param;
    opt.state()[p.unsafeGetTensorImpl()] = make_param_state(fields, p);
  }
}

Bytes capture_cpu_rng() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  const at::Tensor state = gen.get_state().contiguous();
  const auto* p = static_cast<const uint8_t*>(state.data_ptr());
  return Bytes(p, p + state.nbytes());
}

void restore_cpu_rng(const Bytes& state) {
  at::Tensor t = at::empty({static_cast<int64_t>(state.size())}, at::TensorOptions().dtype(at::kByte));
  if (!state.empty()) std::memcpy(t.data_ptr(), state.data(), state.size());
  auto gen = at::detail::getDefaultCPUGenerator();
  try {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(t);
  } catch (const c10::Error& e) {
    throw Error("torch CPU generator state (" + std::to_string(state.size()) + " bytes) is invalid: " +
                    e.what_without_backtrace(),
                "the checkpoint's RNG state comes from an incompatible libtorch or is damaged");
  }
}

}  // namespace pgenrm::checkpoint
