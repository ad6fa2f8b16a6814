// CheckpointState ⇄ one HDF5 file:
//   /meta/{format,step,stage,code_version,world_layout,config_yaml,
//          model_config,optim_config}, /meta/counters/<name>
//   /model/<param>  /optim/<param>/<field>  /prototypes/<name>  /extra/<name>
//   /rng/<rank>/<generator>  /data/<stream>  /curriculum  /coordinator
// Parameter names keep their dots as dataset names (no nesting), so
// f["model"]["model.layers.0.mlp.up_proj.weight"] is the tensor of that name.
//
// Not here: atomic publication and markers (commit.cpp).
#include "checkpoint/layout.h"

#include <optional>

#include "core/error.h"

namespace pgenrm::checkpoint::layout {

namespace {

using h5::H5Failure;
using h5::Handle;

const char* const kUnreadableHint =
    "the file is truncated or corrupt, or not a pgenrm checkpoint: resume from an earlier "
    "checkpoint (`--resume auto` falls back by itself)";

// Runs `fn`, prefixing any HDF5 failure with the group it happened in.
template <class Fn>
auto in_group(const std::string& group, Fn&& fn) {
  try {
    return fn();
  } catch (const H5Failure& e) {
    if (group.empty()) throw;
    throw H5Failure("/" + group + ": " + e.what());
  }
}

// --- write ----------------------------------------------------------------------

void write_meta(hid_t file, const CheckpointState& s) {
  in_group("meta", [&] {
    Handle meta = h5::create_group(file, "meta");
    h5::write_int(meta.get(), "format", kFormatVersion);
    h5::write_int(meta.get(), "step", s.step);
    h5::write_text(meta.get(), "stage", s.stage);
    h5::write_text(meta.get(), "code_version", s.code_version);
    h5::write_text(meta.get(), "world_layout", s.world_layout);
    h5::write_text(meta.get(), "config_yaml", s.config_yaml);
    h5::write_text(meta.get(), "model_config", s.model_config_json);
    h5::write_text(meta.get(), "optim_config", s.optim_config_json);
    Handle counters = h5::create_group(meta.get(), "counters");
    for (const auto& [name, value] : s.counters) h5::write_int(counters.get(), name, value);
  });
}

void write_tensors(hid_t parent, const std::string& group, const TensorMap& tensors) {
  in_group(group, [&] {
    Handle g = h5::create_group(parent, group);
    for (const auto& [name, t] : tensors) h5::write_tensor(g.get(), name, t);
  });
}

void write_optim(hid_t file, const std::map<std::string, TensorMap>& optim) {
  in_group("optim", [&] {
    Handle g = h5::create_group(file, "optim");
    for (const auto& [param, fields] : optim) {
      Handle p = h5::create_group(g.get(), param);
      for (const auto& [field, t] : fields) h5::write_tensor(p.get(), field, t);
    }
  });
}

void write_rng(hid_t file, const std::map<int, std::map<std::string, Bytes>>& rng) {
  in_group("rng", [&] {
    Handle g = h5::create_group(file, "rng");
    for (const auto& [rank, generators] : rng) {
      if (rank < 0) throw H5Failure("rank " + std::to_string(rank) + " is negative");
      Handle r = h5::create_group(g.get(), std::to_string(rank));
      for (const auto& [name, bytes] : generators) h5::write_bytes(r.get(), name, bytes);
    }
  });
}

void write_texts(hid_t parent, const std::string& group, const std::map<std::string, std::string>& texts) {
  in_group(group, [&] {
    Handle g = h5::create_group(parent, group);
    for (const auto& [name, text] : texts) h5::write_text(g.get(), name, text);
  });
}

void write_all(hid_t file, const CheckpointState& s) {
  write_meta(file, s);
  write_tensors(file, "model", s.model);
  write_optim(file, s.optim);
  write_tensors(file, "prototypes", s.prototypes);
  write_tensors(file, "extra", s.extra);
  write_rng(file, s.rng);
  write_texts(file, "data", s.data_streams);
  in_group("", [&] {
    h5::write_text(file, "curriculum", s.curriculum);
    h5::write_text(file, "coordinator", s.coordinator);
  });
}

// --- read -------------------------------------------------------------------------

void read_meta(hid_t file, const std::string& path, CheckpointState* s) {
  in_group("meta", [&] {
    if (!h5::exists(file, "meta")) throw H5Failure("no /meta group: not a pgenrm checkpoint");
    Handle meta = h5::open_group(file, "meta");
    const int64_t format = h5::read_int(meta.get(), "format");
    if (format < 1 || format > kFormatVersion)
      throw Error("checkpoint " + path + " has layout version " + std::to_string(format) + " is not supported (this build reads 1.." +
                      std::to_string(kFormatVersion) + ")",
                  "resume with the pgenrm version that wrote it (see /meta/code_version)");
    s->step = h5::read_int(meta.get(), "step");
    s->stage = h5::read_text(meta.get(), "stage");
    s->code_version = h5::read_text(meta.get(), "code_version");
    s->world_layout = h5::read_text(meta.get(), "world_layout");
    s->config_yaml = h5::read_text(meta.get(), "config_yaml");
    s->model_config_json = h5::read_text(meta.get(), "model_config");
    s->optim_config_json = h5::read_text(meta.get(), "optim_config");
    Handle counters = h5::open_group(meta.get(), "counters");
    for (const auto& m : h5::members(counters.get())) s->counters[m.name] = h5::read_int(counters.get(), m.name);
  });
}

// Groups other than /meta and /model are optional on read, so a file that a
// later writer left without one still opens.
std::optional<Handle> open_optional(hid_t parent, const std::string& group) {
  if (!h5::exists(parent, group)) return std::nullopt;
  return h5::open_group(parent, group);
}

TensorMap read_tensors(hid_t file, const std::string& group, bool required) {
  return in_group(group, [&] {
    TensorMap out;
    if (!required && !h5::exists(file, group)) return out;
    Handle g = h5::open_group(file, group);
    for (const auto& m : h5::members(g.get())) out[m.name] = h5::read_tensor(g.get(), m.name);
    return out;
  });
}

std::map<std::string, TensorMap> read_optim(hid_t file) {
  return in_group("optim", [&] {
    std::map<std::string, TensorMap> out;
    auto g = open_optional(file, "optim");
    if (!g) return out;
    for (const auto& param : h5::members(g->get())) {
      Handle p = h5::open_group(g->get(), param.name);
      for (const auto& field : h5::members(p.get()))
        out[param.name][field.name] = h5::read_tensor(p.get(), field.name);
    }
    return out;
  });
}

int parse_rank(const std::string& name) {
  if (name.empty() || name.size() > 9 || name.find_first_not_of("0123456789") != std::string::npos)
    throw H5Failure("group " + name + " should be named by a rank number");
  return std::stoi(name);
}

std::map<int, std::map<std::string, Bytes>> read_rng(hid_t file) {
  return in_group("rng", [&] {
    std::map<int, std::map<std::string, Bytes>> out;
    auto g = open_optional(file, "rng");
    if (!g) return out;
    for (const auto& rank : h5::members(g->get())) {
      Handle r = h5::open_group(g->get(), rank.name);
      auto& generators = out[parse_rank(rank.name)];
      for (const auto& gen : h5::members(r.get())) generators[gen.name] = h5::read_bytes(r.get(), gen.name);
    }
    return out;
  });
}

std::map<std::string, std::string> read_texts(hid_t file, const std::string& group) {
  return in_group(group, [&] {
    std::map<std::string, std::string> out;
    auto g = open_optional(file, group);
    if (!g) return out;
    for (const auto& m : h5::members(g->get())) out[m.name] = h5::read_text(g->get(), m.name);
    return out;
  });
}

std::string read_optional_text(hid_t file, const std::string& name) {
  return in_group("", [&] { return h5::exists(file, name) ? h5::read_text(file, name) : std::string(); });
}

void walk(hid_t group, const std::string& prefix, std::vector<Entry>* out) {
  for (const auto& m : h5::members(group)) {
    const std::string path = prefix + "/" + m.name;
    if (m.kind == h5::Kind::kGroup) {
      Handle g = h5::open_group(group, m.name);
      walk(g.get(), path, out);
    } else if (m.kind == h5::Kind::kDataset) {
      out->push_back({path, h5::describe(group, m.name)});
    }
  }
}

}  // namespace

void write_state_file(const std::string& path, const CheckpointState& state) {
  h5::Session session;
  try {
    Handle file = h5::create_file(path);
    write_all(file.get(), state);
    // H5Fclose flushes: a full disk surfaces here, not in a destructor.
    h5::check(H5Fclose(file.release()), "closing the file");
  } catch (const H5Failure& e) {
    throw Error("cannot write checkpoint " + path + ": " + e.what(),
                "check free space and permissions of the checkpoint directory; names and dtypes are "
                "listed in docs/CHECKPOINTS.md");
  }
}

CheckpointState read_state_file(const std::string& path, const LoadOptions& options) {
  h5::Session session;
  try {
    Handle file = h5::open_file_readonly(path);
    CheckpointState s;
    read_meta(file.get(), path, &s);
    if (options.tensors) {
      s.model = read_tensors(file.get(), "model", /*required=*/true);
      s.prototypes = read_tensors(file.get(), "prototypes", /*required=*/false);
      s.extra = read_tensors(file.get(), "extra", /*required=*/false);
      if (options.optimizer) s.optim = read_optim(file.get());
    }
    s.rng = read_rng(file.get());
    s.data_streams = read_texts(file.get(), "data");
    s.curriculum = read_optional_text(file.get(), "curriculum");
    s.coordinator = read_optional_text(file.get(), "coordinator");
    return s;
  } catch (const H5Failure& e) {
    throw Error("checkpoint " + path + " is unreadable: " + e.what(), kUnreadableHint);
  }
}

std::vector<Entry> list_datasets(const std::string& path) {
  h5::Session session;
  try {
    Handle file = h5::open_file_readonly(path);
    std::vector<Entry> out;
    walk(file.get(), "", &out);
    return out;
  } catch (const H5Failure& e) {
    throw Error("checkpoint " + path + " is unreadable: " + e.what(), kUnreadableHint);
  }
}

}  // namespace pgenrm::checkpoint::layout
