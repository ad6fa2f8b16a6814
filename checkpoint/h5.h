// A thin layer over the HDF5 C API, private to checkpoint/: owning handles,
// a session that silences HDF5's own stderr printing and serialises access,
// and typed datasets (tensors, byte strings, text, int64) that always carry
// the Fletcher32 checksum filter.
//
// Failures throw H5Failure, whose message includes the most specific lines
// of HDF5's error stack; the layout code catches it and rethrows a
// pgenrm::Error naming the file, the dataset and a hint.
//
// Not here: which dataset goes where (checkpoint/layout.cpp), files on disk
// beyond what HDF5 itself does (checkpoint/file_io.h).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace pgenrm::checkpoint::h5 {

struct H5Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// While alive: HDF5's automatic error printing is off (restored after) and a
// process-wide lock is held, because the serial HDF5 build is not
// thread-safe. Nests within one thread.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  std::unique_lock<std::recursive_mutex> lock_;
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
};

// Owns one identifier and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  void reset();
  // Gives up ownership, for closes whose failure must be seen (H5Fclose
  // flushes, so a full disk shows up there).
  hid_t release() {
    const hid_t id = id_;
    id_ = -1;
    return id;
  }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// Throws H5Failure("<what>: <HDF5 messages>") when `status` < 0.
void check(herr_t status, const std::string& what);
// Wraps a returned identifier, throwing when it is invalid.
Handle own(hid_t id, Handle::Closer close, const std::string& what);

Handle create_file(const std::string& path);
Handle open_file_readonly(const std::string& path);
Handle create_group(hid_t parent, const std::string& name);
Handle open_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& name);

enum class Kind { kGroup, kDataset, kOther };
struct Member {
  std::string name;
  Kind kind;
};
std::vector<Member> members(hid_t group);  // in name order

// Refuses names HDF5 would split or cannot hold ('/', "", ".").
void check_name(const std::string& name);

// Tensors: stored type = the dtype's own HDF5 type where HDF5 has one, else
// the unsigned integer of the same width holding the bit pattern; the
// attribute "dtype" always names the torch dtype (docs/CHECKPOINTS.md).
void write_tensor(hid_t parent, const std::string& name, const at::Tensor& t);
at::Tensor read_tensor(hid_t parent, const std::string& name);

void write_bytes(hid_t parent, const std::string& name, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_bytes(hid_t parent, const std::string& name);

// Text: one fixed-length UTF-8 string (null-padded), so it can be chunked and
// checksummed like everything else; text with NUL bytes is refused.
void write_text(hid_t parent, const std::string& name, const std::string& text);
std::string read_text(hid_t parent, const std::string& name);

void write_int(hid_t parent, const std::string& name, int64_t value);
int64_t read_int(hid_t parent, const std::string& name);

// What a dataset holds without reading its data.
struct DatasetInfo {
  std::string dtype;           // torch dtype name, or "text"
  std::vector<int64_t> shape;  // logical shape ({} for 0-dim tensors)
  int64_t bytes = 0;           // logical size of the data
  int64_t stored_bytes = 0;    // on disk, checksums included
  bool checksummed = false;    // Fletcher32 in its filter pipeline
};
DatasetInfo describe(hid_t parent, const std::string& name);

}  // namespace pgenrm::checkpoint::h5
