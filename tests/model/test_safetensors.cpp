// Tests of model/safetensors: bitwise round trips over every dtype, files
// exchanged with Hugging Face's own `safetensors` package both ways (through
// tools/ref_safetensors.py), sharded directories, and one test per kind of
// corrupt file, each checking the error names the problem and the file.
//
// Not here: loading a real model's weights into our modules (model loader
// tests) and GPU tensors (save_safetensors only calls .cpu() on them).
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include <ATen/ops/empty.h>
#include <ATen/ops/equal.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/safetensors.h"

namespace pgenrm::model {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// --- helpers ----------------------------------------------------------------

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("pgenrm_safetensors_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Random bit patterns (NaN payloads, subnormals, everything) of `dtype`;
// BOOL gets 0/1 since other byte values are not valid bools.
at::Tensor random_tensor(c10::ScalarType dtype, const std::vector<int64_t>& shape, std::mt19937& rng) {
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
  auto* bytes = static_cast<uint8_t*>(t.data_ptr());
  for (size_t i = 0; i < t.nbytes(); ++i)
    bytes[i] = dtype == c10::ScalarType::Bool ? rng() % 2 : static_cast<uint8_t>(rng());
  return t;
}

std::vector<uint8_t> raw_bytes(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  return std::vector<uint8_t>(p, p + c.nbytes());
}

// Same dtype, shape and bits (NaN == NaN here, unlike at::equal on floats).
void expect_bit_identical(const at::Tensor& a, const at::Tensor& b, const std::string& name) {
  EXPECT_EQ(a.scalar_type(), b.scalar_type()) << name;
  EXPECT_EQ(a.sizes().vec(), b.sizes().vec()) << name;
  EXPECT_EQ(raw_bytes(a), raw_bytes(b)) << name;
}

std::string fnv1a64(const std::vector<uint8_t>& data) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : data) h = (h ^ b) * 0x100000001B3ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file with this exact header text and data; `header_len` overrides the
// length prefix when set.
void write_raw(const std::string& path, const std::string& header, const std::string& data,
               std::optional<uint64_t> header_len = std::nullopt) {
  const uint64_t n = header_len.value_or(header.size());
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &n, 8);
  write_file(path, bytes + header + data);
}

// Runs `f`, expecting a pgenrm::Error whose text contains every `needle`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const pgenrm::Error& e) {
    const std::string what = e.what();
    for (const auto& needle : needles) EXPECT_NE(what.find(needle), std::string::npos) << "missing '" << needle << "' in: " << what;
    EXPECT_FALSE(e.hint().empty()) << what;
    return;
  }
  ADD_FAILURE() << "no pgenrm::Error thrown";
}

// stdout of the reference script; fails the test on a non-zero exit.
json run_reference(const std::string& command, const std::string& file) {
  const std::string cmd = std::string("'") + PGENRM_PYTHON + "' '" + PGENRM_SOURCE_DIR +
                          "/tools/ref_safetensors.py' " + command + " '" + file + "'";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (status != 0) throw std::runtime_error("reference script failed (" + std::to_string(status) + "): " + cmd);
  return json::parse(out);
}

const std::vector<c10::ScalarType> kAllDtypes = {
    c10::ScalarType::Double,      c10::ScalarType::Float,         c10::ScalarType::Half,
    c10::ScalarType::BFloat16,    c10::ScalarType::Long,          c10::ScalarType::Int,
    c10::ScalarType::Short,       c10::ScalarType::Char,          c10::ScalarType::Byte,
    c10::ScalarType::Bool,        c10::ScalarType::UInt16,        c10::ScalarType::UInt32,
    c10::ScalarType::UInt64,      c10::ScalarType::ComplexFloat,  c10::ScalarType::Float8_e4m3fn,
    c10::ScalarType::Float8_e5m2, c10::ScalarType::Float8_e8m0fnu};

// A valid one-tensor header for the corruption tests to break.
std::string f32_header(const std::string& name, const std::string& shape, int64_t begin, int64_t end,
                       const std::string& dtype = "F32") {
  return R"({")" + name + R"(":{"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":[)" +
         std::to_string(begin) + "," + std::to_string(end) + "]}}";
}

// --- round trips ---------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTripIsBitIdenticalForEveryDtypeAndShape) {
  std::mt19937 rng(7);
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {3, 0, 2}, {1}, {7}, {3, 5}, {2, 3, 4}};
  std::map<std::string, at::Tensor> tensors;
  for (auto dtype : kAllDtypes)
    for (size_t s = 0; s < shapes.size(); ++s)
      tensors[dtype_to_string(dtype) + ".shape" + std::to_string(s)] = random_tensor(dtype, shapes[s], rng);
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"quote\"and\\slash", "line\nbreak"}, {"unicode", "Grüße, 世界"}, {"empty", ""}};
  save_safetensors(path("all.safetensors"), tensors, metadata);

  const auto file = SafetensorsFile::open(path("all.safetensors"));
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    const auto& info = file.info(name);
    EXPECT_EQ(info.name, name);
    EXPECT_EQ(info.dtype, t.scalar_type()) << name;
    EXPECT_EQ(info.shape, t.sizes().vec()) << name;
    EXPECT_EQ(info.nbytes(), static_cast<int64_t>(t.nbytes())) << name;
    // The layout aligns every tensor, so view() never has to fall back.
    EXPECT_EQ(info.offset_begin % static_cast<int64_t>(c10::elementSize(info.dtype)), 0) << name;
    expect_bit_identical(file.get(name), t, name + " (get)");
    expect_bit_identical(file.view(name), t, name + " (view)");
  }
}

TEST_F(SafetensorsTest, HeaderIsPaddedToEightBytesAndStartsWithMetadata) {
  std::mt19937 rng(1);
  save_safetensors(path("a.safetensors"), {{"w", random_tensor(at::kFloat, {3}, rng)}}, {{"format", "pt"}});
  const std::string bytes = read_file(path("a.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 12);
  const std::string prefix = R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
  EXPECT_EQ(bytes.substr(8, prefix.size()), prefix);
  EXPECT_EQ(bytes.find_first_not_of(' ', bytes.find("]}}") + 3), 8 + n);  // spaces, then data

  // Every header length lands on a multiple of 8, whatever the JSON's size.
  for (int len = 1; len <= 8; ++len) {
    save_safetensors(path("b.safetensors"), {{std::string(len, 'n'), random_tensor(at::kFloat, {1}, rng)}});
    const std::string b = read_file(path("b.safetensors"));
    std::memcpy(&n, b.data(), 8);
    EXPECT_EQ(n % 8, 0u) << "name length " << len;
    EXPECT_EQ(b.size(), 8 + n + 4) << "name length " << len;
  }
}

TEST_F(SafetensorsTest, SavesNonContiguousTensorsByValue) {
  std::mt19937 rng(3);
  const at::Tensor base = random_tensor(at::kFloat, {4, 6}, rng);
  const at::Tensor transposed = base.t();
  const at::Tensor sliced = base.slice(/*dim=*/1, /*start=*/2, /*end=*/5);
  save_safetensors(path("nc.safetensors"), {{"t", transposed}, {"s", sliced}});
  const auto file = SafetensorsFile::open(path("nc.safetensors"));
  expect_bit_identical(file.get("t"), transposed.contiguous(), "t");
  expect_bit_identical(file.get("s"), sliced.contiguous(), "s");
}

TEST_F(SafetensorsTest, ViewOutlivesTheFileAndWritesStayPrivate) {
  std::mt19937 rng(5);
  const at::Tensor t = random_tensor(at::kFloat, {16}, rng);
  save_safetensors(path("v.safetensors"), {{"w", t}});
  at::Tensor view;
  {
    const auto file = SafetensorsFile::open(path("v.safetensors"));
    view = file.view("w");
  }  // the file object is gone; the view holds the mapping
  expect_bit_identical(view, t, "w");
  static_cast<float*>(view.data_ptr())[0] = 42.0f;  // copy-on-write page
  const at::Tensor reread = SafetensorsFile::open(path("v.safetensors")).get("w");
  expect_bit_identical(reread, t, "w after writing into the view");
}

TEST_F(SafetensorsTest, WritingReplacesTheFileAtomicallyAndLeavesNoTemporaries) {
  std::mt19937 rng(9);
  save_safetensors(path("x.safetensors"), {{"a", random_tensor(at::kFloat, {2}, rng)}});
  const at::Tensor b = random_tensor(at::kHalf, {3}, rng);
  save_safetensors(path("x.safetensors"), {{"b", b}});
  const auto file = SafetensorsFile::open(path("x.safetensors"));
  EXPECT_EQ(file.names(), std::vector<std::string>{"b"});
  expect_bit_identical(file.get("b"), b, "b");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(SafetensorsTest, RefusesTensorsItCannotStore) {
  const auto p = path("bad.safetensors");
  expect_error([&] { save_safetensors(p, {{"u", at::Tensor()}}); }, {"'u'", "undefined"});
  expect_error([&] { save_safetensors(p, {{"c", at::empty({2}, at::TensorOptions().dtype(at::kComplexDouble))}}); },
               {"ComplexDouble", "cannot be stored"});
  expect_error([&] { save_safetensors(p, {{"__metadata__", at::empty({1})}}); }, {"reserved"});
  expect_error([&] { save_safetensors(p, {{std::string("bad\xff utf8"), at::empty({1})}}); }, {"UTF-8"});
  EXPECT_FALSE(fs::exists(p));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);  // no temporaries
}

// --- Hugging Face's safetensors, both ways -------------------------------------

TEST_F(SafetensorsTest, ReadsWhatPythonWroteBitExactly) {
  const auto p = path("py.safetensors");
  const json expected = run_reference("write", p);
  const auto file = SafetensorsFile::open(p);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(file.names().size(), expected["tensors"].size());
  for (const auto& [name, want] : expected["tensors"].items()) {
    SCOPED_TRACE(name);
    const auto& info = file.info(name);
    EXPECT_EQ(dtype_to_string(info.dtype), want["dtype"].get<std::string>());
    EXPECT_EQ(info.shape, want["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(fnv1a64(raw_bytes(file.get(name))), want["fnv1a64"].get<std::string>());
    EXPECT_EQ(fnv1a64(raw_bytes(file.view(name))), want["fnv1a64"].get<std::string>());
  }
  // The fixed values Python wrote, decoded: arange(9) as I64 and a bf16 2.5.
  const at::Tensor ids = file.get("position_ids");
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(static_cast<const int64_t*>(ids.data_ptr())[i], i);
  EXPECT_EQ(static_cast<float>(*static_cast<const c10::BFloat16*>(file.get("scalar").data_ptr())), 2.5f);
}

TEST_F(SafetensorsTest, WritesTheSameBytesAsPython) {
  const auto py = path("py.safetensors");
  run_reference("write", py);
  const auto file = SafetensorsFile::open(py);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& name : file.names()) tensors[name] = file.get(name);
  save_safetensors(path("cpp.safetensors"), tensors, file.metadata());
  EXPECT_TRUE(read_file(path("cpp.safetensors")) == read_file(py)) << "headers:\n"
      << read_file(py).substr(8, 200) << "\n" << read_file(path("cpp.safetensors")).substr(8, 200);
}

TEST_F(SafetensorsTest, PythonReadsWhatWeWroteBitExactly) {
  std::mt19937 rng(11);
  std::map<std::string, at::Tensor> tensors;
  const std::vector<std::vector<int64_t>> shapes = {{}, {0, 3}, {5}, {2, 3}};
  for (auto dtype : kAllDtypes)
    for (size_t s = 0; s < shapes.size(); ++s)
      tensors["layers." + std::to_string(s) + "." + dtype_to_string(dtype)] = random_tensor(dtype, shapes[s], rng);
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "12"}, {"note", "ß \"q\""}};
  const auto p = path("cpp.safetensors");
  save_safetensors(p, tensors, metadata);

  const json got = run_reference("digest", p);
  EXPECT_EQ((got["metadata"].get<std::map<std::string, std::string>>()), metadata);
  ASSERT_EQ(got["tensors"].size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    const auto& d = got["tensors"].at(name);
    EXPECT_EQ(d["dtype"].get<std::string>(), dtype_to_string(t.scalar_type()));
    EXPECT_EQ(d["shape"].get<std::vector<int64_t>>(), t.sizes().vec());
    EXPECT_EQ(d["fnv1a64"].get<std::string>(), fnv1a64(raw_bytes(t)));
  }
}

// --- directories and shards -----------------------------------------------------

TEST_F(SafetensorsTest, LoadsAnIndexWithTwoShards) {
  std::mt19937 rng(13);
  const std::map<std::string, at::Tensor> a = {{"embed.weight", random_tensor(at::kBFloat16, {8, 4}, rng)},
                                               {"layers.0.w", random_tensor(at::kFloat, {4, 4}, rng)}};
  const std::map<std::string, at::Tensor> b = {{"layers.1.w", random_tensor(at::kFloat, {4, 4}, rng)},
                                               {"norm.weight", random_tensor(at::kHalf, {4}, rng)}};
  save_safetensors(path("model-00001-of-00002.safetensors"), a, {{"format", "pt"}});
  save_safetensors(path("model-00002-of-00002.safetensors"), b, {{"format", "pt"}});
  json weight_map;
  for (const auto& [name, t] : a) weight_map[name] = "model-00001-of-00002.safetensors";
  for (const auto& [name, t] : b) weight_map[name] = "model-00002-of-00002.safetensors";
  write_file(path("model.safetensors.index.json"),
             json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2));

  const auto all = load_safetensors_dir(dir_.string());
  ASSERT_EQ(all.size(), 4u);
  for (const auto* part : {&a, &b})
    for (const auto& [name, t] : *part) expect_bit_identical(all.at(name), t, name);

  const auto dir = SafetensorsDir::open(dir_.string());
  EXPECT_EQ(dir.files().size(), 2u);
  EXPECT_EQ(fs::path(dir.file_of("norm.weight").path()).filename(), "model-00002-of-00002.safetensors");
  EXPECT_EQ(dir.info("embed.weight").dtype, at::kBFloat16);
  expect_bit_identical(dir.view("layers.1.w"), b.at("layers.1.w"), "layers.1.w");
  expect_error([&] { dir.get("lm_head.weight"); }, {"lm_head.weight", dir_.string()});

  // An index naming a tensor its shard lacks is a stale checkpoint.
  weight_map["ghost"] = "model-00002-of-00002.safetensors";
  write_file(path("model.safetensors.index.json"), json{{"weight_map", weight_map}}.dump());
  expect_error([&] { SafetensorsDir::open(dir_.string()); }, {"'ghost'", "does not contain it"});
  // ... and a shard file that is missing.
  weight_map.erase("ghost");
  weight_map["norm.weight"] = "model-00003-of-00003.safetensors";
  write_file(path("model.safetensors.index.json"), json{{"weight_map", weight_map}}.dump());
  expect_error([&] { SafetensorsDir::open(dir_.string()); }, {"model-00003-of-00003.safetensors", "cannot open"});
}

TEST_F(SafetensorsTest, SavesShardedThenSingleAndCleansUp) {
  std::mt19937 rng(17);
  std::map<std::string, at::Tensor> tensors;
  for (int i = 0; i < 5; ++i) tensors["w" + std::to_string(i)] = random_tensor(at::kFloat, {10}, rng);  // 40 B each

  const auto sharded = save_safetensors_dir(dir_.string(), tensors, /*max_shard_bytes=*/100);
  EXPECT_EQ(sharded, (std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                               "model-00003-of-00003.safetensors", "model.safetensors.index.json"}));
  const json index = json::parse(read_file(path("model.safetensors.index.json")));
  EXPECT_EQ(index["metadata"]["total_size"], 200);
  EXPECT_EQ(index["weight_map"]["w4"], "model-00003-of-00003.safetensors");
  EXPECT_EQ(SafetensorsFile::open(path("model-00001-of-00003.safetensors")).metadata().at("format"), "pt");
  auto loaded = load_safetensors_dir(dir_.string());
  ASSERT_EQ(loaded.size(), tensors.size());
  for (const auto& [name, t] : tensors) expect_bit_identical(loaded.at(name), t, name);

  const auto single = save_safetensors_dir(dir_.string(), tensors);
  EXPECT_EQ(single, std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);  // shards + index gone
  loaded = load_safetensors_dir(dir_.string());
  for (const auto& [name, t] : tensors) expect_bit_identical(loaded.at(name), t, name);
}

TEST_F(SafetensorsTest, ReportsAMissingCheckpoint) {
  expect_error([&] { SafetensorsDir::open(dir_.string()); }, {dir_.string(), "model.safetensors.index.json"});
  expect_error([&] { SafetensorsFile::open(path("nope.safetensors")); }, {"nope.safetensors", "cannot open"});
  expect_error([&] { SafetensorsFile::open(dir_.string()); }, {"not a regular file"});
}

// --- corrupt files ------------------------------------------------------------

TEST_F(SafetensorsTest, RejectsTruncatedFiles) {
  std::mt19937 rng(19);
  const auto good = path("good.safetensors");
  save_safetensors(good, {{"w", random_tensor(at::kFloat, {64}, rng)}});
  const std::string bytes = read_file(good);

  const auto cut = path("cut.safetensors");
  write_file(cut, bytes.substr(0, bytes.size() - 10));  // inside the data
  expect_error([&] { SafetensorsFile::open(cut); }, {cut, "tensor 'w'", "run past the data section"});
  write_file(cut, bytes.substr(0, 20));  // inside the header
  expect_error([&] { SafetensorsFile::open(cut); }, {cut, "runs past the end of the file"});
  write_file(cut, bytes.substr(0, 5));  // inside the length prefix
  expect_error([&] { SafetensorsFile::open(cut); }, {cut, "too short"});
}

TEST_F(SafetensorsTest, RejectsBadHeaderLengths) {
  const auto p = path("len.safetensors");
  write_raw(p, f32_header("w", "[1]", 0, 4), "abcd", /*header_len=*/1000);
  expect_error([&] { SafetensorsFile::open(p); }, {p, "header length 1000 runs past the end of the file"});
  write_raw(p, f32_header("w", "[1]", 0, 4), "abcd", /*header_len=*/uint64_t{1} << 40);
  expect_error([&] { SafetensorsFile::open(p); }, {p, "exceeds the 100 MB limit"});
}

TEST_F(SafetensorsTest, RejectsHeadersThatAreNotJsonObjects) {
  const auto p = path("json.safetensors");
  write_raw(p, R"({"w":{"dtype":"F32",)", "");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "header is not valid JSON"});
  write_raw(p, "[1,2]   ", "");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "not a JSON object"});
  write_raw(p, R"({"w":{"dtype":"F32","shape":[1]}})", "abcd");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'w'", "needs \"dtype\", \"shape\" and \"data_offsets\""});
  write_raw(p, R"({"__metadata__":{"step":12}})", "");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'step' is not a string"});
}

TEST_F(SafetensorsTest, RejectsOverlappingAndOutOfRangeOffsets) {
  const auto p = path("off.safetensors");
  write_raw(p,
            R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
            std::string(12, 'x'));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'a' and 'b' overlap"});
  write_raw(p, f32_header("w", "[2]", 4, 12), std::string(8, 'x'));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "tensor 'w'", "[4, 12] run past the data section (8 bytes)"});
  write_raw(p, f32_header("w", "[2]", 8, 0), std::string(8, 'x'));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'w'", "not 0 <= begin <= end"});
  write_raw(p, f32_header("w", "[3]", 0, 8), std::string(12, 'x'));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'w'", "holds 8 bytes but shape and dtype need 12"});
  write_raw(p, f32_header("w", "[-2]", 0, 8), std::string(8, 'x'));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'w'", "shape entry -2 is not a size"});
  write_raw(p, f32_header("w", "[4294967296,4294967296,4]", 0, 8), std::string(8, 'x'));
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'w'", "overflows"});
  // Gaps between tensors and empty tensors anywhere in range are allowed.
  write_raw(p,
            R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
            R"("e":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},)"
            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
            std::string(12, 'x'));
  EXPECT_EQ(SafetensorsFile::open(p).names(), (std::vector<std::string>{"a", "b", "e"}));
}

TEST_F(SafetensorsTest, RejectsUnknownDtypesNamingTensorDtypeAndFile) {
  const auto p = path("dtype.safetensors");
  write_raw(p, f32_header("layers.0.w", "[1]", 0, 4, "F7"), "abcd");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'layers.0.w'", "unknown safetensors dtype 'F7'"});
  write_raw(p, f32_header("q", "[2]", 0, 1, "F4"), "a");
  expect_error([&] { SafetensorsFile::open(p); }, {p, "'q'", "F4 has no torch equivalent"});
}

TEST_F(SafetensorsTest, NamesTheFileWhenATensorIsMissing) {
  std::mt19937 rng(23);
  const auto p = path("m.safetensors");
  save_safetensors(p, {{"present", random_tensor(at::kFloat, {1}, rng)}});
  const auto file = SafetensorsFile::open(p);
  EXPECT_TRUE(file.contains("present"));
  EXPECT_FALSE(file.contains("absent"));
  expect_error([&] { file.info("absent"); }, {p, "'absent'", "no such tensor"});
  expect_error([&] { file.get("absent"); }, {p, "'absent'"});
}

TEST(SafetensorsDtypes, MapBothWaysAndRejectTheRest) {
  for (auto dtype : kAllDtypes) EXPECT_EQ(dtype_from_string(dtype_to_string(dtype)), dtype);
  EXPECT_EQ(dtype_to_string(at::kBFloat16), "BF16");
  EXPECT_EQ(dtype_from_string("F8_E4M3"), c10::ScalarType::Float8_e4m3fn);
  EXPECT_FALSE(is_supported_dtype("F6_E2M3"));
  expect_error([] { dtype_from_string("X"); }, {"unknown safetensors dtype 'X'"});
  expect_error([] { dtype_to_string(at::kQInt8); }, {"QInt8", "cannot be stored"});
}

}  // namespace
}  // namespace pgenrm::model
