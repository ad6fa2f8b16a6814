#include "comm/weight_sync.h"

#include <ATen/ATen.h>

#include <cstring>

#include "core/error.h"

namespace pgenrm::comm {

namespace {

constexpr uint64_t kP1 = 0x9E3779B185EBCA87ULL, kP2 = 0xC2B2AE3D27D4EB4FULL,
                   kP3 = 0x165667B19E3779F9ULL, kP4 = 0x85EBCA77C2B2AE63ULL,
                   kP5 = 0x27D4EB2F165667C5ULL;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
uint64_t round64(uint64_t acc, uint64_t in) { return rotl(acc + in * kP2, 31) * kP1; }
uint64_t merge(uint64_t acc, uint64_t v) { return (acc ^ round64(0, v)) * kP1 + kP4; }
uint64_t load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

at::Tensor cpu_bytes(const at::Tensor& t) {
  at::Tensor c = t.detach().to(at::kCPU).contiguous();
  return c.view({-1}).view(at::kByte);
}

}  // namespace

uint64_t checksum_bytes(const void* data, size_t n, uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  const unsigned char* end = p + n;
  uint64_t h;
  if (n >= 32) {
    uint64_t v1 = seed + kP1 + kP2, v2 = seed + kP2, v3 = seed, v4 = seed - kP1;
    for (; p + 32 <= end; p += 32) {
      v1 = round64(v1, load64(p));
      v2 = round64(v2, load64(p + 8));
      v3 = round64(v3, load64(p + 16));
      v4 = round64(v4, load64(p + 24));
    }
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint64_t>(n);
  for (; p + 8 <= end; p += 8) h = rotl(h ^ round64(0, load64(p)), 27) * kP1 + kP4;
  for (; p < end; ++p) h = rotl(h ^ (*p * kP5), 11) * kP1;
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t checksum_tensors(const std::vector<at::Tensor>& ts) {
  // The checksum of the concatenated bytes, i.e. of what sync() sends.
  std::vector<at::Tensor> parts;
  for (const auto& t : ts) parts.push_back(cpu_bytes(t));
  at::Tensor all = parts.empty() ? at::empty({0}, at::kByte) : at::cat(parts);
  return checksum_bytes(all.data_ptr(), static_cast<size_t>(all.numel()));
}

uint64_t layout_fingerprint(const std::vector<at::Tensor>& ts) {
  std::vector<int64_t> desc;
  for (const auto& t : ts) {
    desc.push_back(static_cast<int64_t>(t.scalar_type()));
    desc.push_back(t.dim());
    for (int64_t s : t.sizes()) desc.push_back(s);
  }
  return checksum_bytes(desc.data(), desc.size() * sizeof(int64_t), 0x5eed);
}

int64_t WeightSync::sync(const std::vector<at::Tensor>& params, int64_t version) {
  const bool root = c_.rank() == root_;
  int64_t n_bytes = 0;
  for (const auto& p : params) n_bytes += p.numel() * p.element_size();

  // Only the root packs: its checksum must cover the bytes actually sent.
  at::Tensor bytes = at::empty({n_bytes}, at::kByte);
  WeightHeader h;
  if (root) {
    int64_t off = 0;
    for (const auto& p : params) {
      at::Tensor b = cpu_bytes(p);
      bytes.narrow(0, off, b.numel()).copy_(b);
      off += b.numel();
    }
    h = {version, static_cast<int64_t>(params.size()), n_bytes, layout_fingerprint(params),
         checksum_bytes(bytes.data_ptr(), static_cast<size_t>(n_bytes))};
  }
  at::Tensor head = at::empty({5}, at::kLong);
  auto* hp = head.data_ptr<int64_t>();
  hp[0] = h.version;
  hp[1] = h.n_tensors;
  hp[2] = h.n_bytes;
  std::memcpy(&hp[3], &h.layout, 8);
  std::memcpy(&hp[4], &h.checksum, 8);
  c_.broadcast(head, root_, "weights header");
  h.version = hp[0];
  h.n_tensors = hp[1];
  h.n_bytes = hp[2];
  std::memcpy(&h.layout, &hp[3], 8);
  std::memcpy(&h.checksum, &hp[4], 8);

  if (!root) {
    const bool match = h.n_tensors == static_cast<int64_t>(params.size()) &&
                       h.n_bytes == n_bytes && h.layout == layout_fingerprint(params);
    if (!match) {
      // Still take part in the payload broadcast (into scratch), so the
      // group stays in step and the error surfaces as a message, not a hang.
      at::Tensor scratch = at::empty({h.n_bytes}, at::kByte);
      c_.broadcast(scratch, root_, "weights v" + std::to_string(h.version));
      throw Error("weight broadcast of version " + std::to_string(h.version) + ": the sender has " +
                      std::to_string(h.n_tensors) + " tensors / " + std::to_string(h.n_bytes) +
                      " bytes, this rank " + std::to_string(params.size()) + " / " +
                      std::to_string(n_bytes) + " (or their shapes/dtypes differ)",
                  "learners and rollout workers must build the model from the same config");
    }
  }
  c_.broadcast(bytes, root_, "weights v" + std::to_string(h.version));
  if (!root) {
    if (fault_) fault_(bytes);
    const uint64_t got = checksum_bytes(bytes.data_ptr(), static_cast<size_t>(n_bytes));
    PGENRM_CHECK(got == h.checksum,
                 "weight broadcast of version " + std::to_string(h.version) +
                     " failed its checksum (received " + std::to_string(got) + ", sender " +
                     std::to_string(h.checksum) + ")",
                 "the bytes were damaged in transit; keep the previous weights and resync");
    int64_t off = 0;
    at::NoGradGuard no_grad;
    for (const auto& p : params) {
      const int64_t nb = p.numel() * p.element_size();
      // memcpy, not a dtype view: offsets need not be aligned to the dtype.
      at::Tensor tmp = at::empty(p.sizes(), p.options().device(at::kCPU).requires_grad(false));
      std::memcpy(tmp.data_ptr(), bytes.data_ptr<uint8_t>() + off, static_cast<size_t>(nb));
      at::Tensor dst = p.detach();
      dst.copy_(tmp);
      off += nb;
    }
  }
  last_ = h;
  version_ = h.version;
  return h.version;
}

}  // namespace pgenrm::comm
