// Safetensors reading (mmap + validated header) and writing (HF-identical
// layout, atomic rename). The format: 8-byte little-endian header length N,
// N bytes of JSON {"__metadata__": {str: str}, name: {"dtype", "shape",
// "data_offsets": [begin, end]}}, then the data section the offsets index.
//
// Not here: anything about what the tensors mean (model/ loader), dtype or
// device conversion on read, and big-endian hosts.
#include "model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <string_view>

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

static_assert(std::endian::native == std::endian::little,
              "safetensors is little-endian; this reader copies bytes as they are");

namespace pgenrm::model {
namespace fs = std::filesystem;
using json = nlohmann::json;

// ---------------------------------------------------------------------------
// dtypes

namespace {

struct DtypeEntry {
  const char* name;
  c10::ScalarType type;
  // Position in the Rust crate's Dtype enum. Its writer lays tensors out by
  // descending rank (then name), so every tensor is aligned to its element
  // size; we copy the order to produce identical files.
  int rank;
};

constexpr DtypeEntry kDtypes[] = {
    {"BOOL", c10::ScalarType::Bool, 0},
    {"U8", c10::ScalarType::Byte, 4},
    {"I8", c10::ScalarType::Char, 5},
    {"F8_E5M2", c10::ScalarType::Float8_e5m2, 6},
    {"F8_E4M3", c10::ScalarType::Float8_e4m3fn, 7},
    {"F8_E8M0", c10::ScalarType::Float8_e8m0fnu, 8},
    {"I16", c10::ScalarType::Short, 9},
    {"U16", c10::ScalarType::UInt16, 10},
    {"F16", c10::ScalarType::Half, 11},
    {"BF16", c10::ScalarType::BFloat16, 12},
    {"I32", c10::ScalarType::Int, 13},
    {"U32", c10::ScalarType::UInt32, 14},
    {"F32", c10::ScalarType::Float, 15},
    {"C64", c10::ScalarType::ComplexFloat, 16},
    {"F64", c10::ScalarType::Double, 17},
    {"I64", c10::ScalarType::Long, 18},
    {"U64", c10::ScalarType::UInt64, 19},
};

// Known to the format but with no torch dtype to hold them.
constexpr const char* kUnrepresentable[] = {"F4", "F6_E2M3", "F6_E3M2"};

const DtypeEntry* find_dtype(const std::string& name) {
  for (const auto& e : kDtypes)
    if (name == e.name) return &e;
  return nullptr;
}

const DtypeEntry* find_dtype(c10::ScalarType type) {
  for (const auto& e : kDtypes)
    if (type == e.type) return &e;
  return nullptr;
}

std::string supported_dtype_list() {
  std::string out;
  for (const auto& e : kDtypes) out += std::string(out.empty() ? "" : " ") + e.name;
  return out;
}

std::string unsupported_dtype_reason(const std::string& name) {
  for (const char* known : kUnrepresentable)
    if (name == known) return "safetensors dtype " + name + " has no torch equivalent";
  return "unknown safetensors dtype '" + name + "'";
}

}  // namespace

bool is_supported_dtype(const std::string& safetensors_dtype) {
  return find_dtype(safetensors_dtype) != nullptr;
}

c10::ScalarType dtype_from_string(const std::string& safetensors_dtype) {
  if (const auto* e = find_dtype(safetensors_dtype)) return e->type;
  throw Error(unsupported_dtype_reason(safetensors_dtype), "supported: " + supported_dtype_list());
}

std::string dtype_to_string(c10::ScalarType dtype) {
  if (const auto* e = find_dtype(dtype)) return e->name;
  throw Error(std::string("torch dtype ") + c10::toString(dtype) + " cannot be stored in safetensors",
              "convert the tensor (e.g. .to(at::kFloat)) first; supported: " + supported_dtype_list());
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // the header check ruled out overflow
  return n;
}

// ---------------------------------------------------------------------------
// mapping

struct SafetensorsFile::Mapping {
  uint8_t* data = nullptr;
  size_t size = 0;

  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data != nullptr) ::munmap(data, size);
  }
};

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the Rust crate's limit
constexpr const char* kRewriteHint =
    "the file is truncated or corrupt: download or write it again";

std::string where(const std::string& path) { return "safetensors file '" + path + "'"; }

std::string where(const std::string& path, const std::string& tensor) {
  return where(path) + ", tensor '" + tensor + "'";
}

std::string errno_text() { return std::strerror(errno); }

// The whole file, private and copy-on-write: view() hands out tensors over
// these pages that callers may write into without touching the file. A file
// truncated by someone else while mapped raises SIGBUS on access, as with any
// mmap reader (HF's included).
std::shared_ptr<const SafetensorsFile::Mapping> map_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(where(path) + ": cannot open: " + errno_text(), "check the path and its permissions");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(where(path) + ": not a regular file", "pass the path of a .safetensors file");
  }
  auto mapping = std::make_shared<SafetensorsFile::Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    void* p = ::mmap(nullptr, mapping->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const std::string err = errno_text();
      ::close(fd);
      throw Error(where(path) + ": mmap failed: " + err, "check free address space and the file system");
    }
    mapping->data = static_cast<uint8_t*>(p);
  }
  ::close(fd);  // the mapping holds its own reference to the file
  return mapping;
}

// a * b, or nullopt on int64 overflow.
std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// A non-negative JSON integer that fits int64, or nullopt.
std::optional<int64_t> as_size(const json& v) {
  if (!v.is_number_unsigned()) return std::nullopt;
  const auto u = v.get<uint64_t>();
  if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(u);
}

std::vector<int64_t> parse_shape(const std::string& path, const std::string& name, const json& v) {
  PGENRM_CHECK(v.is_array(), where(path, name) + ": \"shape\" is not an array", kRewriteHint);
  std::vector<int64_t> shape;
  for (const auto& d : v) {
    const auto dim = as_size(d);
    PGENRM_CHECK(dim.has_value(), where(path, name) + ": shape entry " + d.dump() + " is not a size",
                 kRewriteHint);
    shape.push_back(*dim);
  }
  return shape;
}

std::pair<int64_t, int64_t> parse_offsets(const std::string& path, const std::string& name,
                                          const json& v) {
  PGENRM_CHECK(v.is_array() && v.size() == 2,
               where(path, name) + ": \"data_offsets\" is not a [begin, end] pair", kRewriteHint);
  const auto begin = as_size(v[0]);
  const auto end = as_size(v[1]);
  PGENRM_CHECK(begin && end && *begin <= *end,
               where(path, name) + ": data_offsets " + v.dump() + " are not 0 <= begin <= end",
               kRewriteHint);
  return {*begin, *end};
}

c10::ScalarType parse_dtype(const std::string& path, const std::string& name, const json& v) {
  PGENRM_CHECK(v.is_string(), where(path, name) + ": \"dtype\" is not a string", kRewriteHint);
  const auto s = v.get<std::string>();
  if (const auto* e = find_dtype(s)) return e->type;
  throw Error(where(path, name) + ": " + unsupported_dtype_reason(s),
              "supported: " + supported_dtype_list() + "; convert the checkpoint in Python first");
}

// One header entry, checked against the data section's size.
TensorInfo parse_entry(const std::string& path, const std::string& name, const json& v,
                       int64_t data_size) {
  PGENRM_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"),
               where(path, name) + ": entry needs \"dtype\", \"shape\" and \"data_offsets\"",
               kRewriteHint);
  TensorInfo info;
  info.name = name;
  info.dtype = parse_dtype(path, name, v["dtype"]);
  info.shape = parse_shape(path, name, v["shape"]);
  std::tie(info.offset_begin, info.offset_end) = parse_offsets(path, name, v["data_offsets"]);

  std::optional<int64_t> expected = c10::elementSize(info.dtype);
  for (int64_t d : info.shape)
    if (expected) expected = checked_mul(*expected, d);
  PGENRM_CHECK(expected.has_value(), where(path, name) + ": shape overflows int64", kRewriteHint);
  PGENRM_CHECK(info.offset_end <= data_size,
               where(path, name) + ": data_offsets [" + std::to_string(info.offset_begin) + ", " +
                   std::to_string(info.offset_end) + "] run past the data section (" +
                   std::to_string(data_size) + " bytes)",
               kRewriteHint);
  PGENRM_CHECK(info.nbytes() == *expected,
               where(path, name) + ": holds " + std::to_string(info.nbytes()) +
                   " bytes but shape and dtype need " + std::to_string(*expected),
               kRewriteHint);
  return info;
}

// Empty tensors own no bytes and may sit anywhere in range.
void check_no_overlap(const std::string& path, const std::map<std::string, TensorInfo>& infos) {
  std::vector<const TensorInfo*> by_offset;
  for (const auto& [name, info] : infos)
    if (info.nbytes() > 0) by_offset.push_back(&info);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->offset_begin < b->offset_begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto& prev = *by_offset[i - 1];
    const auto& cur = *by_offset[i];
    PGENRM_CHECK(cur.offset_begin >= prev.offset_end,
                 where(path) + ": tensors '" + prev.name + "' and '" + cur.name +
                     "' overlap (data_offsets end " + std::to_string(prev.offset_end) +
                     " > begin " + std::to_string(cur.offset_begin) + ")",
                 kRewriteHint);
  }
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& v) {
  PGENRM_CHECK(v.is_object(), where(path) + ": \"__metadata__\" is not an object", kRewriteHint);
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : v.items()) {
    PGENRM_CHECK(value.is_string(),
                 where(path) + ": __metadata__ value of '" + key + "' is not a string", kRewriteHint);
    out[key] = value.get<std::string>();
  }
  return out;
}

std::string some_names(const std::map<std::string, TensorInfo>& infos) {
  std::string out;
  int shown = 0;
  for (const auto& [name, info] : infos) {
    if (shown++ == 5) return out + ", ...";
    out += (out.empty() ? "" : ", ") + name;
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

// ---------------------------------------------------------------------------
// SafetensorsFile

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  file.mapping_ = map_file(path);
  const auto* bytes = file.mapping_->data;
  const auto size = static_cast<uint64_t>(file.mapping_->size);

  PGENRM_CHECK(size >= 8,
               where(path) + ": file is " + std::to_string(size) +
                   " bytes, too short for the 8-byte header length",
               kRewriteHint);
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes, 8);
  PGENRM_CHECK(header_len <= kMaxHeaderBytes,
               where(path) + ": header length " + std::to_string(header_len) +
                   " exceeds the 100 MB limit",
               "not a safetensors file, or its first 8 bytes are corrupt");
  PGENRM_CHECK(8 + header_len <= size,
               where(path) + ": header length " + std::to_string(header_len) +
                   " runs past the end of the file (" + std::to_string(size) + " bytes)",
               kRewriteHint);

  json header;
  try {
    const auto* text = reinterpret_cast<const char*>(bytes + 8);
    header = json::parse(text, text + header_len);
  } catch (const json::exception& e) {
    throw Error(where(path) + ": header is not valid JSON: " + e.what(), kRewriteHint);
  }
  PGENRM_CHECK(header.is_object(), where(path) + ": header is not a JSON object", kRewriteHint);

  file.data_start_ = static_cast<int64_t>(8 + header_len);
  const auto data_size = static_cast<int64_t>(size) - file.data_start_;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__")
      file.metadata_ = parse_metadata(path, value);
    else
      file.infos_[key] = parse_entry(path, key, value, data_size);
  }
  check_no_overlap(path, file.infos_);
  return file;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(infos_.size());
  for (const auto& [name, info] : infos_) out.push_back(name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const { return infos_.count(name) > 0; }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = infos_.find(name);
  if (it == infos_.end())
    throw Error(where(path_, name) + ": no such tensor",
                "the file holds " + std::to_string(infos_.size()) + " tensors (" + some_names(infos_) +
                    "); check the checkpoint matches the model and the name mapping");
  return it->second;
}

const uint8_t* SafetensorsFile::data_of(const TensorInfo& info) const {
  return mapping_->data + data_start_ + info.offset_begin;
}

at::Tensor SafetensorsFile::get(const std::string& name) const {
  const TensorInfo& ti = info(name);
  at::Tensor out = at::empty(ti.shape, at::TensorOptions().dtype(ti.dtype));
  if (ti.nbytes() > 0) std::memcpy(out.data_ptr(), data_of(ti), static_cast<size_t>(ti.nbytes()));
  return out;
}

at::Tensor SafetensorsFile::view(const std::string& name) const {
  const TensorInfo& ti = info(name);
  auto* data = const_cast<uint8_t*>(data_of(ti));  // the pages are private and writable
  if (reinterpret_cast<uintptr_t>(data) % c10::elementSize(ti.dtype) != 0) return get(name);
  auto keep_alive = mapping_;
  return at::from_blob(data, ti.shape, [keep_alive](void*) {}, at::TensorOptions().dtype(ti.dtype));
}

// ---------------------------------------------------------------------------
// SafetensorsDir

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  PGENRM_CHECK(in.good(), "cannot open '" + path + "': " + errno_text(), "check the path and its permissions");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw Error("'" + path + "' is not valid JSON: " + e.what(), kRewriteHint);
  }
}

// weight_map of an index file: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const std::string& index_path) {
  const json index = read_json_file(index_path);
  PGENRM_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(),
               "'" + index_path + "' has no \"weight_map\" object",
               "a sharded checkpoint's index maps every tensor name to its shard file");
  std::map<std::string, std::string> out;
  for (const auto& [name, shard] : index["weight_map"].items()) {
    PGENRM_CHECK(shard.is_string(), "'" + index_path + "': weight_map entry '" + name + "' is not a string",
                 kRewriteHint);
    const auto file = shard.get<std::string>();
    PGENRM_CHECK(!file.empty() && fs::path(file).is_relative(),
                 "'" + index_path + "': shard '" + file + "' of tensor '" + name +
                     "' is not a relative file name",
                 kRewriteHint);
    out[name] = file;
  }
  return out;
}

}  // namespace

SafetensorsDir SafetensorsDir::open(const std::string& path) {
  SafetensorsDir dir;
  dir.path_ = path;
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec) && !fs::exists(p / kSingleFile, ec) && fs::exists(p / kIndexFile, ec)) {
    const auto weight_map = read_weight_map((p / kIndexFile).string());
    std::map<std::string, size_t> shard_index;  // shard file -> files_ index
    for (const auto& [name, shard] : weight_map) {
      auto [it, inserted] = shard_index.emplace(shard, dir.files_.size());
      if (inserted) dir.files_.push_back(SafetensorsFile::open((p / shard).string()));
      PGENRM_CHECK(dir.files_[it->second].contains(name),
                   "'" + (p / kIndexFile).string() + "' maps tensor '" + name + "' to '" + shard +
                       "', which does not contain it",
                   "the checkpoint is incomplete or its index is stale; download or save it again");
      dir.file_index_[name] = it->second;
    }
    return dir;
  }
  const fs::path file = fs::is_directory(p, ec) ? p / kSingleFile : p;
  PGENRM_CHECK(fs::exists(file, ec),
               "no safetensors checkpoint at '" + path + "' (neither " + kSingleFile + " nor " +
                   kIndexFile + ")",
               "pass a Hugging Face model directory saved with safetensors (save_pretrained's "
               "default) or a .safetensors file; .bin checkpoints are not read");
  dir.files_.push_back(SafetensorsFile::open(file.string()));
  for (const auto& name : dir.files_[0].names()) dir.file_index_[name] = 0;
  return dir;
}

std::vector<std::string> SafetensorsDir::names() const {
  std::vector<std::string> out;
  out.reserve(file_index_.size());
  for (const auto& [name, index] : file_index_) out.push_back(name);
  return out;
}

bool SafetensorsDir::contains(const std::string& name) const { return file_index_.count(name) > 0; }

const SafetensorsFile& SafetensorsDir::file_of(const std::string& name) const {
  auto it = file_index_.find(name);
  PGENRM_CHECK(it != file_index_.end(),
               "safetensors checkpoint '" + path_ + "': no tensor '" + name + "'",
               "it holds " + std::to_string(file_index_.size()) +
                   " tensors; check the checkpoint matches the model and the name mapping");
  return files_[it->second];
}

const TensorInfo& SafetensorsDir::info(const std::string& name) const { return file_of(name).info(name); }
at::Tensor SafetensorsDir::get(const std::string& name) const { return file_of(name).get(name); }
at::Tensor SafetensorsDir::view(const std::string& name) const { return file_of(name).view(name); }

std::map<std::string, at::Tensor> SafetensorsDir::load_all() const {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, index] : file_index_) out.emplace(name, files_[index].get(name));
  return out;
}

std::map<std::string, at::Tensor> load_safetensors_dir(const std::string& path) {
  return SafetensorsDir::open(path).load_all();
}

// ---------------------------------------------------------------------------
// writing

namespace {

struct Planned {
  std::string name;
  const at::Tensor* tensor;
  const DtypeEntry* dtype;
  int64_t offset_begin = 0;
  int64_t offset_end = 0;
};

std::vector<Planned> plan_layout(const std::string& path, const std::map<std::string, at::Tensor>& tensors) {
  std::vector<Planned> plan;
  for (const auto& [name, t] : tensors) {
    PGENRM_CHECK(name != "__metadata__", where(path) + ": '__metadata__' cannot name a tensor",
                 "rename the tensor; the key is reserved for the metadata map");
    PGENRM_CHECK(t.defined(), where(path, name) + ": tensor is undefined", "pass a defined tensor");
    PGENRM_CHECK(!t.is_meta(), where(path, name) + ": meta tensors hold no data", "materialize it first");
    PGENRM_CHECK(t.layout() == c10::kStrided, where(path, name) + ": only dense tensors can be saved",
                 "call .to_dense() first");
    const auto* dtype = find_dtype(t.scalar_type());
    if (dtype == nullptr) dtype_to_string(t.scalar_type());  // throws with the list
    plan.push_back({name, &t, dtype});
  }
  std::stable_sort(plan.begin(), plan.end(),
                   [](const Planned& a, const Planned& b) { return a.dtype->rank > b.dtype->rank; });
  int64_t offset = 0;
  for (auto& p : plan) {
    p.offset_begin = offset;
    offset += p.tensor->numel() * static_cast<int64_t>(c10::elementSize(p.dtype->type));
    p.offset_end = offset;
  }
  return plan;
}

// HF's exact header bytes: compact JSON, metadata first, tensors in layout
// order, keys dtype/shape/data_offsets, spaces up to a multiple of 8.
std::string header_bytes(const std::string& path, const std::vector<Planned>& plan,
                         const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& p : plan) {
    auto& entry = header[p.name];
    entry["dtype"] = p.dtype->name;
    entry["shape"] = p.tensor->sizes().vec();
    entry["data_offsets"] = {p.offset_begin, p.offset_end};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& e) {
    throw Error(where(path) + ": cannot write the header: " + e.what(),
                "tensor names and metadata must be valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_all(int fd, const std::string& path, const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("writing '" + path + "' failed: " + errno_text(), "check free disk space and permissions");
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// Writes `fill(fd)` to a temporary file beside `path`, fsyncs it and renames
// it over `path`, so readers see the old file or the whole new one.
template <typename Fill>
void write_atomically(const std::string& path, Fill&& fill) {
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  PGENRM_CHECK(fd >= 0, "cannot create '" + tmp + "': " + errno_text(),
               "check the directory exists and is writable");
  try {
    fill(fd, tmp);
    PGENRM_CHECK(::fsync(fd) == 0, "fsync of '" + tmp + "' failed: " + errno_text(), "check the disk");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  const bool closed = ::close(fd) == 0;
  if (!closed || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = errno_text();
    ::unlink(tmp.c_str());
    throw Error("cannot move '" + tmp + "' to '" + path + "': " + err, "check the directory is writable");
  }
  // Make the rename itself durable; failure here loses nothing already read.
  const std::string parent = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string();
  const int dir_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_atomically(path, [&](int fd, const std::string& tmp) { write_all(fd, tmp, text.data(), text.size()); });
}

}  // namespace

void save_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const auto plan = plan_layout(path, tensors);
  const std::string header = header_bytes(path, plan, metadata);
  write_atomically(path, [&](int fd, const std::string& tmp) {
    const uint64_t header_len = header.size();
    write_all(fd, tmp, &header_len, 8);
    write_all(fd, tmp, header.data(), header.size());
    for (const auto& p : plan) {
      // One tensor at a time on CPU keeps peak memory at one tensor.
      const at::Tensor t = p.tensor->cpu().resolve_conj().resolve_neg().contiguous();
      write_all(fd, tmp, t.data_ptr(), static_cast<size_t>(p.offset_end - p.offset_begin));
    }
  });
}

namespace {

std::string shard_name(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

// Tensor names per shard, HF's greedy rule in name order.
std::vector<std::vector<std::string>> plan_shards(const std::map<std::string, at::Tensor>& tensors,
                                                  int64_t max_shard_bytes) {
  std::vector<std::vector<std::string>> shards(1);
  int64_t current = 0;
  for (const auto& [name, t] : tensors) {
    const int64_t bytes = t.defined() ? static_cast<int64_t>(t.nbytes()) : 0;
    if (!shards.back().empty() && current + bytes > max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(name);
    current += bytes;
  }
  return shards;
}

// Removes what an earlier save in another layout left, so the directory
// reads back as exactly the files just written.
void remove_stale(const fs::path& dir, const std::set<std::string>& keep) {
  static const std::regex kShard(R"(model-\d{5}-of-\d{5}\.safetensors)");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name == kSingleFile || name == kIndexFile || std::regex_match(name, kShard);
    if (ours && keep.count(name) == 0) fs::remove(entry.path(), ec);
  }
}

}  // namespace

std::vector<std::string> save_safetensors_dir(const std::string& dir,
                                              const std::map<std::string, at::Tensor>& tensors,
                                              int64_t max_shard_bytes,
                                              const std::map<std::string, std::string>& metadata) {
  PGENRM_CHECK(max_shard_bytes > 0, "max_shard_bytes must be positive", "pass e.g. 5 GiB (HF's default)");
  const fs::path root(dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  PGENRM_CHECK(fs::is_directory(root), "cannot create directory '" + dir + "'", "check the path and permissions");

  // transformers refuses a shard whose metadata lacks "format".
  auto shard_metadata = metadata;
  shard_metadata.emplace("format", "pt");

  const auto shards = plan_shards(tensors, max_shard_bytes);
  if (shards.size() == 1) {
    save_safetensors((root / kSingleFile).string(), tensors, shard_metadata);
    remove_stale(root, {kSingleFile});
    return {kSingleFile};
  }
  std::vector<std::string> written;
  json weight_map = json::object();
  int64_t total_size = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = shard_name(i, shards.size());
    std::map<std::string, at::Tensor> part;
    for (const auto& name : shards[i]) {
      part.emplace(name, tensors.at(name));
      weight_map[name] = file;
      total_size += static_cast<int64_t>(tensors.at(name).nbytes());
    }
    save_safetensors((root / file).string(), part, shard_metadata);
    written.push_back(file);
  }
  const json index = {{"metadata", {{"total_size", total_size}}}, {"weight_map", weight_map}};
  write_text_atomically((root / kIndexFile).string(), index.dump(2) + "\n");
  written.push_back(kIndexFile);
  remove_stale(root, std::set<std::string>(written.begin(), written.end()));
  return written;
}

}  // namespace pgenrm::model
