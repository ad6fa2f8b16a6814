#include "scaling/prototypes.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "core/error.h"
#include "model/safetensors.h"
#include "scaling/kmeans.h"

namespace pgenrm::scaling {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
at::Tensor json_bytes(const json& j) {
  const std::string s = j.dump();
  at::Tensor t = at::empty({static_cast<int64_t>(s.size())}, at::kByte);
  std::copy(s.begin(), s.end(), t.data_ptr<uint8_t>());
  return t;
}
json bytes_json(const at::Tensor& t, const char* what) {
  at::Tensor c = t.to(at::kCPU).contiguous();
  PGENRM_CHECK(c.scalar_type() == at::kByte && c.dim() == 1,
               std::string("prototypes: '") + what + "' is not a byte vector", "rebuild the prototypes");
  const auto* p = c.data_ptr<uint8_t>();
  try {
    return json::parse(std::string(p, p + c.numel()));
  } catch (const std::exception& e) {
    throw Error(std::string("prototypes: '") + what + "' is not JSON: " + e.what(), "rebuild the prototypes");
  }
}
const at::Tensor& need(const std::map<std::string, at::Tensor>& t, const std::string& name) {
  auto it = t.find(name);
  PGENRM_CHECK(it != t.end(), "prototypes: tensor '" + name + "' is missing",
               "write them with `pgenrm prototypes build`");
  return it->second;
}
}  // namespace

std::vector<int64_t> Prototypes::sizes() const {
  std::vector<int64_t> s(k(), 0);
  for (int64_t a : assign) ++s[a];
  return s;
}

int64_t Prototypes::nearest(const at::Tensor& e) const {
  return nearest_centroid(e.reshape({1, -1}), centroids).front();
}

std::vector<int64_t> Prototypes::neighbours(const at::Tensor& e, int64_t n, const std::string& exclude) const {
  std::vector<int64_t> out;
  if (n <= 0 || member_ids.empty()) return out;
  at::Tensor q = e.reshape({-1}).to(at::kDouble);
  at::Tensor cd = (centroids.to(at::kDouble) - q.unsqueeze(0)).pow(2).sum(1).contiguous();
  std::vector<int64_t> order(k());
  std::iota(order.begin(), order.end(), 0);
  const double* cdp = cd.data_ptr<double>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cdp[a] < cdp[b]; });
  at::Tensor sim = at::mv(member_emb.to(at::kDouble), q).contiguous();
  const double* sp = sim.data_ptr<double>();
  for (int64_t j : order) {
    std::vector<int64_t> members;
    for (size_t i = 0; i < assign.size(); ++i)
      if (assign[i] == j && member_ids[i] != exclude) members.push_back(static_cast<int64_t>(i));
    std::stable_sort(members.begin(), members.end(), [&](int64_t a, int64_t b) { return sp[a] > sp[b]; });
    for (int64_t m : members) {
      if (static_cast<int64_t>(out.size()) == n) return out;
      out.push_back(m);
    }
  }
  return out;
}

int64_t Prototypes::reassign() {
  std::vector<int64_t> a = nearest_centroid(member_emb, centroids);
  int64_t moved = 0;
  for (size_t i = 0; i < a.size(); ++i) moved += a[i] != assign[i];
  assign = std::move(a);
  return moved;
}

at::Tensor Prototypes::cluster_means() const {
  at::Tensor sums = at::zeros({k(), dim()}, at::kDouble);
  at::Tensor counts = at::zeros({k()}, at::kDouble);
  at::Tensor idx = at::tensor(assign, at::kLong);
  sums.index_add_(0, idx, member_emb.to(at::kDouble));
  counts.index_add_(0, idx, at::ones({static_cast<int64_t>(assign.size())}, at::kDouble));
  at::Tensor means = sums / counts.clamp_min(1).unsqueeze(1);
  at::Tensor empty = (counts == 0).unsqueeze(1);
  return at::where(empty, centroids.to(at::kDouble), means).to(at::kFloat);
}

void Prototypes::validate() const {
  const std::string hint = "rebuild them with `pgenrm prototypes build`";
  PGENRM_CHECK(centroids.defined() && centroids.dim() == 2 && centroids.size(0) >= 1,
               "prototypes: centroids must be a non-empty [k, d] matrix", hint);
  PGENRM_CHECK(member_emb.defined() && member_emb.dim() == 2 && member_emb.size(1) == dim() &&
                   member_emb.size(0) == static_cast<int64_t>(member_ids.size()) &&
                   assign.size() == member_ids.size(),
               "prototypes: members, their embeddings and their assignment disagree in shape", hint);
  for (int64_t a : assign)
    PGENRM_CHECK(a >= 0 && a < k(), "prototypes: a member is assigned to prototype " + std::to_string(a) +
                                        " of " + std::to_string(k()), hint);
}

std::map<std::string, at::Tensor> Prototypes::to_tensors() const {
  validate();
  return {{"centroids", centroids.to(at::kCPU, at::kFloat).contiguous()},
          {"member_embeddings", member_emb.to(at::kCPU, at::kFloat).contiguous()},
          {"member_assign", at::tensor(assign, at::kLong)},
          {"member_ids", json_bytes(json(member_ids))},
          {"info", json_bytes(info)}};
}

Prototypes Prototypes::from_tensors(const std::map<std::string, at::Tensor>& t) {
  Prototypes p;
  p.centroids = need(t, "centroids").to(at::kCPU, at::kFloat).contiguous();
  p.member_emb = need(t, "member_embeddings").to(at::kCPU, at::kFloat).contiguous();
  at::Tensor a = need(t, "member_assign").to(at::kCPU, at::kLong).contiguous();
  p.assign.assign(a.data_ptr<int64_t>(), a.data_ptr<int64_t>() + a.numel());
  p.member_ids = bytes_json(need(t, "member_ids"), "member_ids").get<std::vector<std::string>>();
  if (t.count("info")) p.info = bytes_json(t.at("info"), "info");
  p.validate();
  return p;
}

void Prototypes::save(const std::string& path) const {
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  model::save_safetensors(path, to_tensors(), {{"format", "pgenrm-prototypes-1"}});
  json j = info;
  j["k"] = k();
  j["dim"] = dim();
  j["members"] = member_ids.size();
  j["sizes"] = sizes();
  fs::path side = p;
  side.replace_extension(".json");
  std::ofstream(side) << j.dump(2) << "\n";
}

Prototypes Prototypes::load(const std::string& path) {
  PGENRM_CHECK(fs::exists(path), "no prototypes at " + path,
               "run `pgenrm prototypes build --checkpoint DIR` first, or set scaling.prototypes");
  model::SafetensorsFile f = model::SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> t;
  for (const auto& n : f.names()) t[n] = f.get(n);
  return from_tensors(t);
}

Prototypes make_prototypes(std::vector<std::string> member_ids, const at::Tensor& member_emb,
                           const at::Tensor& centroids) {
  Prototypes p;
  p.member_ids = std::move(member_ids);
  p.member_emb = member_emb.to(at::kCPU, at::kFloat).contiguous();
  p.centroids = centroids.to(at::kCPU, at::kFloat).contiguous();
  p.assign = nearest_centroid(p.member_emb, p.centroids);
  p.validate();
  return p;
}

std::string prototypes_path(const std::string& configured, const std::string& checkpoint_dir) {
  if (!configured.empty()) return configured;
  PGENRM_CHECK(!checkpoint_dir.empty(), "no prototypes file: scaling.prototypes is empty and no --checkpoint",
               "set scaling.prototypes=FILE or pass --checkpoint DIR");
  return (fs::path(checkpoint_dir) / "prototypes.safetensors").string();
}

}  // namespace pgenrm::scaling
