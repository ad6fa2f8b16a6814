// HDF5 handles, error capture and the typed datasets of checkpoint/h5.h.
// Every dataset with data is chunked (Fletcher32 needs chunks) and carries
// the checksum filter; readers refuse a dataset without it, so "verified on
// load" cannot silently become "not verified".
#include "checkpoint/h5.h"

#include <ATen/ops/empty.h>

#include <algorithm>

namespace pgenrm::checkpoint::h5 {

namespace {

// ~1 MiB chunks: large enough that per-chunk overhead (B-tree entry,
// checksum, filter call) is noise, small enough to fit HDF5's default cache.
constexpr uint64_t kChunkBytes = uint64_t{1} << 20;
constexpr size_t kMaxErrorLines = 3;

std::recursive_mutex& h5_mutex() {
  static std::recursive_mutex m;
  return m;
}

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* e, void* data) {
  auto* lines = static_cast<std::vector<std::string>*>(data);
  if (e->desc == nullptr || *e->desc == '\0') return 0;
  std::string line = e->desc;
  if (std::find(lines->begin(), lines->end(), line) == lines->end()) lines->push_back(line);
  return 0;
}

// The most specific messages first: the innermost failure names the cause
// ("truncated file", "Fletcher32 checksum"), the outer ones only "can't read".
std::string error_stack() {
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_error, &lines);
  H5Eclear2(H5E_DEFAULT);
  std::string out;
  for (size_t i = 0; i < lines.size() && i < kMaxErrorLines; ++i) out += (i ? "; " : "") + lines[i];
  return out;
}

struct DtypeSpec {
  c10::ScalarType dtype;
  const char* name;
  hid_t file_type;
  hid_t mem_type;
};

// The H5T_* globals exist only once the library is open, hence a function.
const std::vector<DtypeSpec>& dtype_specs() {
  using c10::ScalarType;
  static const std::vector<DtypeSpec> kSpecs = {
      {ScalarType::Float, "float32", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT},
      {ScalarType::Double, "float64", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE},
      {ScalarType::BFloat16, "bfloat16", H5T_STD_U16LE, H5T_NATIVE_UINT16},
      {ScalarType::Half, "float16", H5T_STD_U16LE, H5T_NATIVE_UINT16},
      {ScalarType::Long, "int64", H5T_STD_I64LE, H5T_NATIVE_INT64},
      {ScalarType::Int, "int32", H5T_STD_I32LE, H5T_NATIVE_INT32},
      {ScalarType::Short, "int16", H5T_STD_I16LE, H5T_NATIVE_INT16},
      {ScalarType::Char, "int8", H5T_STD_I8LE, H5T_NATIVE_INT8},
      {ScalarType::Byte, "uint8", H5T_STD_U8LE, H5T_NATIVE_UINT8},
      {ScalarType::UInt16, "uint16", H5T_STD_U16LE, H5T_NATIVE_UINT16},
      {ScalarType::UInt32, "uint32", H5T_STD_U32LE, H5T_NATIVE_UINT32},
      {ScalarType::UInt64, "uint64", H5T_STD_U64LE, H5T_NATIVE_UINT64},
      {ScalarType::Bool, "bool", H5T_STD_U8LE, H5T_NATIVE_UINT8},
      {ScalarType::Float8_e4m3fn, "float8_e4m3fn", H5T_STD_U8LE, H5T_NATIVE_UINT8},
      {ScalarType::Float8_e5m2, "float8_e5m2", H5T_STD_U8LE, H5T_NATIVE_UINT8},
  };
  return kSpecs;
}

const DtypeSpec& spec_of(c10::ScalarType dtype, const std::string& name) {
  for (const auto& s : dtype_specs())
    if (s.dtype == dtype) return s;
  throw H5Failure("tensor " + name + " has dtype " + std::string(c10::toString(dtype)) +
                  ", which checkpoints do not store (supported: float32/64, bfloat16, float16, "
                  "float8, int8-64, uint8-64, bool)");
}

const DtypeSpec& spec_named(const std::string& dtype_name, const std::string& name) {
  for (const auto& s : dtype_specs())
    if (dtype_name == s.name) return s;
  throw H5Failure("dataset " + name + " has unknown dtype attribute '" + dtype_name + "'");
}

std::vector<hsize_t> chunk_dims(const std::vector<hsize_t>& dims, size_t itemsize) {
  const uint64_t target = std::max<uint64_t>(1, kChunkBytes / itemsize);
  std::vector<hsize_t> chunk(dims.size(), 1);
  uint64_t inner = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    if (inner * dims[i] <= target) {
      chunk[i] = dims[i];
      inner *= dims[i];
    } else {
      chunk[i] = std::max<uint64_t>(1, target / inner);
      break;
    }
  }
  return chunk;
}

uint64_t product(const std::vector<hsize_t>& dims) {
  uint64_t n = 1;
  for (hsize_t d : dims) n *= d;
  return n;
}

void write_string_attr(hid_t obj, const std::string& key, const std::string& value) {
  Handle type = own(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), "string size");
  Handle space = own(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
  Handle attr = own(H5Acreate2(obj, key.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose, "creating attribute " + key);
  const std::string buf = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr.get(), type.get(), buf.data()), "writing attribute " + key);
}

std::string read_string_attr(hid_t obj, const std::string& key, const std::string& name) {
  if (H5Aexists(obj, key.c_str()) <= 0) throw H5Failure("dataset " + name + " lacks its '" + key + "' attribute");
  Handle attr = own(H5Aopen(obj, key.c_str(), H5P_DEFAULT), H5Aclose, "opening attribute " + key);
  Handle type = own(H5Aget_type(attr.get()), H5Tclose, "attribute type");
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0)
    throw H5Failure("attribute " + key + " of " + name + " is not a fixed-length string");
  std::string buf(H5Tget_size(type.get()), '\0');
  check(H5Aread(attr.get(), type.get(), buf.data()), "reading attribute " + key);
  return buf.substr(0, buf.find('\0'));
}

void write_int_attr(hid_t obj, const std::string& key, int64_t value) {
  Handle space = own(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
  Handle attr = own(H5Acreate2(obj, key.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose, "creating attribute " + key);
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "writing attribute " + key);
}

Handle write_dataset(hid_t parent, const std::string& name, hid_t file_type, hid_t mem_type,
                     const std::vector<hsize_t>& dims, size_t itemsize, const void* data) {
  check_name(name);
  Handle space = own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
                     "dataspace of " + name);
  Handle dcpl = own(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties");
  const bool has_data = product(dims) > 0;
  if (has_data) {
    const auto chunk = chunk_dims(dims, itemsize);
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "chunking " + name);
    check(H5Pset_fletcher32(dcpl.get()), "checksum filter of " + name);
  }
  Handle ds = own(H5Dcreate2(parent, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(),
                             H5P_DEFAULT),
                  H5Dclose, "creating dataset " + name);
  if (has_data)
    check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "writing dataset " + name);
  return ds;
}

Handle open_dataset(hid_t parent, const std::string& name) {
  if (!exists(parent, name)) throw H5Failure("dataset " + name + " is missing");
  return own(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, "opening dataset " + name);
}

std::vector<hsize_t> dims_of(hid_t ds) {
  Handle space = own(H5Dget_space(ds), H5Sclose, "dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw H5Failure("unreadable dataspace: " + error_stack());
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "dataspace");
  return dims;
}

bool has_checksum(hid_t ds) {
  Handle dcpl = own(H5Dget_create_plist(ds), H5Pclose, "dataset properties");
  const int n = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0;
    size_t n_values = 0;
    unsigned config = 0;
    if (H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &n_values, nullptr, 0, nullptr,
                       &config) == H5Z_FILTER_FLETCHER32)
      return true;
  }
  return false;
}

// Reads everything; HDF5 verifies each chunk's Fletcher32 sum on the way.
void read_all(hid_t ds, hid_t mem_type, void* out, uint64_t n, const std::string& name) {
  if (n == 0) return;
  if (!has_checksum(ds))
    throw H5Failure("dataset " + name + " has no Fletcher32 checksum, so it cannot be verified");
  check(H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), "reading dataset " + name);
}

void check_stored_type(hid_t ds, hid_t expected, const std::string& dtype, const std::string& name) {
  Handle type = own(H5Dget_type(ds), H5Tclose, "type of " + name);
  if (H5Tget_class(type.get()) != H5Tget_class(expected) || H5Tget_size(type.get()) != H5Tget_size(expected))
    throw H5Failure("dataset " + name + " is stored as a " + std::to_string(H5Tget_size(type.get())) +
                    "-byte type that does not match its dtype attribute '" + dtype + "'");
}

herr_t collect_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

}  // namespace

// --- session, handles ---------------------------------------------------------

Session::Session() : lock_(h5_mutex()) {
  H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Session::~Session() { H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_); }

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

void Handle::reset() {
  if (id_ >= 0 && close_ != nullptr) close_(id_);
  id_ = -1;
}

void check(herr_t status, const std::string& what) {
  if (status >= 0) return;
  const std::string stack = error_stack();
  throw H5Failure(what + (stack.empty() ? " failed" : ": " + stack));
}

Handle own(hid_t id, Handle::Closer close, const std::string& what) {
  if (id < 0) check(-1, what);
  return Handle(id, close);
}

// --- files and groups ---------------------------------------------------------

namespace {

// Checkpoints are published by rename and never written in place, so HDF5's
// flock-based file locking adds nothing, and it fails on file systems without
// flock (some NFS and Lustre mounts).
Handle file_access() {
  Handle fapl = own(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "file access properties");
  check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "close degree");
#if H5_VERS_MAJOR > 1 || H5_VERS_MINOR > 12 || (H5_VERS_MINOR == 12 && H5_VERS_RELEASE >= 1) || \
    (H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
  check(H5Pset_file_locking(fapl.get(), /*use_file_locking=*/false, /*ignore_when_disabled=*/true),
        "file locking");
#endif
  return fapl;
}

}  // namespace

Handle create_file(const std::string& path) {
  Handle fapl = file_access();
  return own(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose,
             "creating " + path);
}

Handle open_file_readonly(const std::string& path) {
  Handle fapl = file_access();
  return own(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose, "opening " + path);
}

Handle create_group(hid_t parent, const std::string& name) {
  check_name(name);
  return own(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
             "creating group " + name);
}

Handle open_group(hid_t parent, const std::string& name) {
  if (!exists(parent, name)) throw H5Failure("group " + name + " is missing");
  return own(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose, "opening group " + name);
}

bool exists(hid_t parent, const std::string& name) {
  const htri_t r = H5Lexists(parent, name.c_str(), H5P_DEFAULT);
  if (r < 0) check(-1, "looking up " + name);
  return r > 0;
}

std::vector<Member> members(hid_t group) {
  std::vector<std::string> names;
  check(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names), "listing a group");
  std::vector<Member> out;
  for (const auto& name : names) {
    Handle obj = own(H5Oopen(group, name.c_str(), H5P_DEFAULT), H5Oclose, "opening " + name);
    const H5I_type_t type = H5Iget_type(obj.get());
    out.push_back({name, type == H5I_GROUP ? Kind::kGroup : type == H5I_DATASET ? Kind::kDataset : Kind::kOther});
  }
  return out;
}

void check_name(const std::string& name) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos)
    throw H5Failure("name '" + name + "' cannot be stored: HDF5 names must be non-empty, not '.', "
                    "and without '/'");
}

// --- typed datasets -------------------------------------------------------------

void write_tensor(hid_t parent, const std::string& name, const at::Tensor& t) {
  if (!t.defined()) throw H5Failure("tensor " + name + " is undefined");
  const DtypeSpec& spec = spec_of(t.scalar_type(), name);
  const at::Tensor c = t.detach().cpu().contiguous();
  std::vector<hsize_t> dims(c.sizes().begin(), c.sizes().end());
  const bool scalar = dims.empty();
  if (scalar) dims = {1};
  Handle ds = write_dataset(parent, name, spec.file_type, spec.mem_type, dims, c.element_size(),
                            c.data_ptr());
  write_string_attr(ds.get(), "dtype", spec.name);
  if (scalar) write_int_attr(ds.get(), "scalar", 1);
}

at::Tensor read_tensor(hid_t parent, const std::string& name) {
  Handle ds = open_dataset(parent, name);
  const std::string dtype = read_string_attr(ds.get(), "dtype", name);
  const DtypeSpec& spec = spec_named(dtype, name);
  check_stored_type(ds.get(), spec.file_type, dtype, name);
  const auto dims = dims_of(ds.get());
  std::vector<int64_t> shape(dims.begin(), dims.end());
  if (H5Aexists(ds.get(), "scalar") > 0) {
    if (dims != std::vector<hsize_t>{1}) throw H5Failure("dataset " + name + " is marked scalar but holds several values");
    shape.clear();
  }
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(spec.dtype));
  read_all(ds.get(), spec.mem_type, t.data_ptr(), static_cast<uint64_t>(t.numel()), name);
  return t;
}

void write_bytes(hid_t parent, const std::string& name, const std::vector<uint8_t>& bytes) {
  Handle ds = write_dataset(parent, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, {bytes.size()}, 1, bytes.data());
  write_string_attr(ds.get(), "dtype", "uint8");
}

std::vector<uint8_t> read_bytes(hid_t parent, const std::string& name) {
  Handle ds = open_dataset(parent, name);
  check_stored_type(ds.get(), H5T_STD_U8LE, "uint8", name);
  const auto dims = dims_of(ds.get());
  if (dims.size() != 1) throw H5Failure("dataset " + name + " should hold a 1-D byte string");
  std::vector<uint8_t> out(dims[0]);
  read_all(ds.get(), H5T_NATIVE_UINT8, out.data(), out.size(), name);
  return out;
}

void write_text(hid_t parent, const std::string& name, const std::string& text) {
  if (text.find('\0') != std::string::npos)
    throw H5Failure("text " + name + " contains a NUL byte; store binary state as bytes");
  Handle type = own(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  const size_t size = std::max<size_t>(1, text.size());
  check(H5Tset_size(type.get(), size), "string size");
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "string padding");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string charset");
  const std::string buf = text.empty() ? std::string(1, '\0') : text;
  write_dataset(parent, name, type.get(), type.get(), {1}, size, buf.data());
}

std::string read_text(hid_t parent, const std::string& name) {
  Handle ds = open_dataset(parent, name);
  Handle type = own(H5Dget_type(ds.get()), H5Tclose, "type of " + name);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0 ||
      dims_of(ds.get()) != std::vector<hsize_t>{1})
    throw H5Failure("dataset " + name + " should hold one fixed-length string");
  std::string buf(H5Tget_size(type.get()), '\0');
  read_all(ds.get(), type.get(), buf.data(), 1, name);
  return buf.substr(0, buf.find('\0'));
}

void write_int(hid_t parent, const std::string& name, int64_t value) {
  Handle ds = write_dataset(parent, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {1}, 8, &value);
  write_string_attr(ds.get(), "dtype", "int64");
}

int64_t read_int(hid_t parent, const std::string& name) {
  Handle ds = open_dataset(parent, name);
  check_stored_type(ds.get(), H5T_STD_I64LE, "int64", name);
  if (dims_of(ds.get()) != std::vector<hsize_t>{1}) throw H5Failure("dataset " + name + " should hold one int64");
  int64_t value = 0;
  read_all(ds.get(), H5T_NATIVE_INT64, &value, 1, name);
  return value;
}

DatasetInfo describe(hid_t parent, const std::string& name) {
  Handle ds = open_dataset(parent, name);
  DatasetInfo info;
  Handle type = own(H5Dget_type(ds.get()), H5Tclose, "type of " + name);
  const auto dims = dims_of(ds.get());
  info.shape.assign(dims.begin(), dims.end());
  const bool text = H5Tget_class(type.get()) == H5T_STRING;
  info.dtype = text ? "text" : read_string_attr(ds.get(), "dtype", name);
  if (!text && H5Aexists(ds.get(), "scalar") > 0) info.shape.clear();
  info.bytes = static_cast<int64_t>(product(dims) * H5Tget_size(type.get()));
  info.stored_bytes = static_cast<int64_t>(H5Dget_storage_size(ds.get()));
  info.checksummed = has_checksum(ds.get());
  return info;
}

}  // namespace pgenrm::checkpoint::h5
