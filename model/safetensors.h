// Reading and writing Hugging Face safetensors: single files, and model
// directories holding either `model.safetensors` or a sharded set described
// by `model.safetensors.index.json` (weight_map: tensor name -> shard file).
//
// Reading memory-maps the file, parses and validates the JSON header (sizes,
// offsets, dtypes) up front, and touches tensor bytes only when asked. Every
// malformed input throws pgenrm::Error naming the file (and the tensor) with
// a hint; nothing asserts.
//
// Writing produces the same bytes as `safetensors.torch.save_file` for the
// same tensors and at most one metadata entry (layout sorted by descending
// dtype alignment, then name; header padded with spaces to a multiple of 8),
// through a temporary file renamed into place.
//
// Not here: dtype conversion, device placement or name mapping to our module
// layout (the model loader does that), HF config.json, and remote downloads.
// Formats assume a little-endian host, as every platform torch ships for does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace pgenrm::model {

// One tensor's entry in a header. Offsets are relative to the start of the
// data section (the byte after the header), as in the file.
struct TensorInfo {
  std::string name;
  c10::ScalarType dtype = c10::ScalarType::Float;
  std::vector<int64_t> shape;
  int64_t offset_begin = 0;
  int64_t offset_end = 0;

  int64_t numel() const;
  int64_t nbytes() const { return offset_end - offset_begin; }
};

// "F32", "BF16", ... <-> torch dtypes. Supported: F64 F32 F16 BF16 I64 I32
// I16 I8 U64 U32 U16 U8 BOOL C64 F8_E4M3 F8_E5M2 F8_E8M0. The sub-byte F4/F6
// types have no torch equivalent and are rejected.
bool is_supported_dtype(const std::string& safetensors_dtype);
c10::ScalarType dtype_from_string(const std::string& safetensors_dtype);  // throws
std::string dtype_to_string(c10::ScalarType dtype);                       // throws

// One memory-mapped safetensors file. Cheap to copy: copies share the mapping,
// which stays alive as long as any copy or any tensor from view() does. The
// const methods only read, so threads may share one object. Saving over the
// same path while it is open is safe: the writer renames a new file into
// place and this mapping keeps the old one.
class SafetensorsFile {
 public:
  // Maps `path` and validates the whole header: length (<= 100 MB and within
  // the file), JSON, dtypes, shapes, byte ranges (inside the data section,
  // non-overlapping, size == numel * itemsize).
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws naming tensor and file
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // A CPU tensor with the stored dtype and shape, COPIED out of the mapping:
  // it owns its memory and outlives this object and the file.
  at::Tensor get(const std::string& name) const;

  // Zero-copy: a CPU tensor over the mapping itself, which it keeps alive.
  // The mapping is private copy-on-write, so writing into the tensor is safe
  // and never reaches the file. Pages are read from disk on first touch.
  // Falls back to a copy when the bytes are not aligned to the element size
  // (possible in files not written by HF's or our writer).
  at::Tensor view(const std::string& name) const;

  struct Mapping;  // the mmap; public only so the .cpp's helpers can name it

 private:
  SafetensorsFile() = default;
  const uint8_t* data_of(const TensorInfo& info) const;

  std::string path_;
  std::shared_ptr<const Mapping> mapping_;
  int64_t data_start_ = 0;  // file offset of the data section
  std::map<std::string, TensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// The tensors of a model directory (or of one .safetensors file), with every
// shard mapped lazily: opening reads only headers, tensors are read on get().
class SafetensorsDir {
 public:
  // `path` is a directory with `model.safetensors` (preferred when both
  // exist) or `model.safetensors.index.json`, or a single .safetensors file.
  // Every name in an index's weight_map must be present in its shard.
  static SafetensorsDir open(const std::string& path);

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;  // sorted
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  at::Tensor get(const std::string& name) const;   // copy, see SafetensorsFile
  at::Tensor view(const std::string& name) const;  // zero-copy, see SafetensorsFile
  const SafetensorsFile& file_of(const std::string& name) const;
  const std::vector<SafetensorsFile>& files() const { return files_; }

  std::map<std::string, at::Tensor> load_all() const;  // copies every tensor

 private:
  std::string path_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> file_index_;  // tensor name -> files_ index
};

// Copies every tensor of a model directory (or file) into memory.
std::map<std::string, at::Tensor> load_safetensors_dir(const std::string& path);

// Writes one safetensors file atomically (temporary file in the same
// directory, fsync, rename). Tensors may live on any device and be
// non-contiguous: each is made contiguous on CPU one at a time, so peak extra
// memory is one tensor. Undefined, sparse or unsupported-dtype tensors throw.
void save_safetensors(const std::string& path, const std::map<std::string, at::Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Writes a model directory as Hugging Face does: one `model.safetensors` when
// everything fits in `max_shard_bytes`, else `model-0000i-of-0000n.safetensors`
// shards (tensors in name order, a new shard when the next tensor would
// overflow the current one; a single tensor larger than the limit gets its own
// shard) plus `model.safetensors.index.json`, written last. Files of an
// earlier save in the other layout (model.safetensors, the index, stale
// model-*-of-*.safetensors shards) are removed so the directory reads back as
// exactly these tensors. Returns the file names written.
std::vector<std::string> save_safetensors_dir(const std::string& dir,
                                              const std::map<std::string, at::Tensor>& tensors,
                                              int64_t max_shard_bytes = int64_t{5} << 30,
                                              const std::map<std::string, std::string>& metadata = {});

}  // namespace pgenrm::model
