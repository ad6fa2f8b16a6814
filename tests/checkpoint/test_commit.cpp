// The commit protocol and resume discovery: keep-last-K, a newest checkpoint
// truncated at many offsets or with a flipped byte is refused (with a message
// naming the file and the problem) and the previous one used, interrupted
// saves (.tmp, .h5 without marker, a process killed with SIGKILL mid-save)
// leave nothing resume would take, and --resume's spec resolution.
//
// Not here: what the file holds (test_layout.cpp), exact training resume
// (test_resume.cpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "checkpoint/checkpoint.h"
#include "helpers.h"

namespace pgenrm::checkpoint {
namespace {

namespace fs = std::filesystem;
using testing::any_contains;
using testing::contains;
using testing::expect_error;
using json = nlohmann::json;

class CommitTest : public testing::TempDirTest {
 protected:
  // A state whose bytes are distinct per step: w = pattern + step.
  static CheckpointState state_at(int64_t step, int64_t n = 64 * 64) {
    CheckpointState s;
    s.step = step;
    s.stage = "cre";
    s.model["w"] = at::arange(n, at::TensorOptions().dtype(at::kFloat)).mul_(1e-3).add_(static_cast<double>(step));
    s.optim["w"]["exp_avg"] = s.model["w"].mul(0.5);
    return s;
  }
  std::set<std::string> listing() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }
  void save(int64_t step, int keep = 0) { save_checkpoint(dir_.string(), state_at(step), keep); }
};

uint32_t crc_of(const std::vector<uint8_t>& bytes) {
  return static_cast<uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(bytes.size())));
}

// A marker vouching for `file` as it is now, claiming `step`.
void forge_marker(const std::string& file, int64_t step) {
  const auto bytes = testing::read_file(file);
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", crc_of(bytes));
  json j = {{"format", "pgenrm-checkpoint-marker"},
            {"version", 1},
            {"step", step},
            {"files", json::array({{{"name", fs::path(file).filename().string()},
                                    {"bytes", static_cast<int64_t>(bytes.size())},
                                    {"crc32", crc}}})}};
  std::ofstream(marker_path(file)) << j.dump();
}

TEST_F(CommitTest, FilesAreNamedByStepWithAMarker) {
  const CommitInfo info = save_checkpoint(dir_.string(), state_at(7), 0);
  EXPECT_EQ(fs::path(info.path).filename(), "ckpt-00000007.h5");
  EXPECT_EQ(fs::path(info.marker).filename(), "ckpt-00000007.done");
  EXPECT_EQ(listing(), (std::set<std::string>{"ckpt-00000007.h5", "ckpt-00000007.done"}));
  EXPECT_EQ(info.bytes, static_cast<int64_t>(fs::file_size(info.path)));
  const json marker = json::parse(testing::read_file(info.marker));
  EXPECT_EQ(marker["step"], 7);
  EXPECT_EQ(marker["files"][0]["bytes"], info.bytes);
  EXPECT_EQ(step_of_filename("ckpt-00000007.h5"), 7);
  EXPECT_EQ(step_of_filename("ckpt-123456789012.h5"), 123456789012);
  EXPECT_FALSE(step_of_filename("ckpt-7.h5.tmp").has_value());
  EXPECT_FALSE(step_of_filename("ckpt-x7.h5").has_value());
}

TEST_F(CommitTest, KeepLastKDeletesOlderCheckpoints) {
  for (int64_t step = 1; step <= 5; ++step) save(step * 10, /*keep=*/3);
  EXPECT_EQ(listing(), (std::set<std::string>{"ckpt-00000030.h5", "ckpt-00000030.done", "ckpt-00000040.h5",
                                              "ckpt-00000040.done", "ckpt-00000050.h5", "ckpt-00000050.done"}));
  EXPECT_EQ(find_latest(dir_.string()), ckpt(50));
  save(60, /*keep=*/0);
  EXPECT_EQ(listing().size(), 8u) << "keep_last 0 keeps everything";
}

TEST_F(CommitTest, SavingTheSameStepReplacesIt) {
  save(2);
  CheckpointState other = state_at(2);
  other.stage = "second";
  save_checkpoint(dir_.string(), other, 0);
  EXPECT_EQ(listing().size(), 2u);
  EXPECT_EQ(load_checkpoint(ckpt(2)).stage, "second");
  EXPECT_FALSE(verify_checkpoint(ckpt(2)).has_value());
}

TEST_F(CommitTest, TruncatedNewestIsRefusedAndThePreviousUsed) {
  save(1);
  save(2);
  const auto original = testing::read_file(ckpt(2));
  std::mt19937_64 rng(2024);
  std::vector<size_t> offsets = {0, 1, 512, original.size() - 1};
  for (int i = 0; i < 6; ++i) offsets.push_back(1 + rng() % (original.size() - 2));
  for (size_t offset : offsets) {
    SCOPED_TRACE("truncated at byte " + std::to_string(offset) + " of " + std::to_string(original.size()));
    fs::resize_file(ckpt(2), offset);
    std::vector<std::string> rejected;
    EXPECT_EQ(find_latest(dir_.string(), &rejected), ckpt(1));
    EXPECT_TRUE(any_contains(rejected, "ckpt-00000002.h5", "truncated")) << ::testing::PrintToString(rejected);
    expect_error([&] { load_checkpoint(ckpt(2)); }, {"ckpt-00000002.h5", "truncated"});
    LoadOptions no_marker;
    no_marker.verify_marker = false;  // HDF5 itself must not accept it either
    expect_error([&] { load_checkpoint(ckpt(2), no_marker); }, {"ckpt-00000002.h5", "unreadable"});
    testing::write_file(ckpt(2), original);
  }
  EXPECT_EQ(find_latest(dir_.string()), ckpt(2)) << "restored file is accepted again";
}

TEST_F(CommitTest, FlippedByteInAParameterIsRefusedAndThePreviousUsed) {
  save(1);
  save(2);
  testing::flip_byte_in_tensor_data(ckpt(2), state_at(2).model.at("w"));
  std::vector<std::string> rejected;
  EXPECT_EQ(find_latest(dir_.string(), &rejected), ckpt(1));
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000002.h5", "corrupted: CRC-32")) << ::testing::PrintToString(rejected);
  expect_error([&] { load_checkpoint(ckpt(2)); }, {"ckpt-00000002.h5", "corrupted"});
  auto resumed = load_latest(dir_.string());
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->state.step, 1);
}

// Damage the marker cannot see (the file was bad before its CRC was taken):
// the dataset checksum catches it at load, and load_latest moves on.
TEST_F(CommitTest, LoadLatestFallsBackWhenADatasetChecksumFails) {
  save(1);
  save(2);
  testing::flip_byte_in_tensor_data(ckpt(2), state_at(2).model.at("w"));
  forge_marker(ckpt(2), 2);
  EXPECT_EQ(find_latest(dir_.string()), ckpt(2)) << "marker and metadata agree; data is not read";
  std::vector<std::string> rejected;
  auto resumed = load_latest(dir_.string(), &rejected);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->path, ckpt(1));
  EXPECT_EQ(resumed->state.step, 1);
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000002.h5", "Fletcher32")) << ::testing::PrintToString(rejected);
}

TEST_F(CommitTest, MarkerThatDisagreesOnTheStepIsRefused) {
  save(1);
  fs::copy_file(ckpt(1), ckpt(2));
  forge_marker(ckpt(2), 2);
  std::vector<std::string> rejected;
  EXPECT_EQ(find_latest(dir_.string(), &rejected), ckpt(1));
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000002.h5", "holds step 1")) << ::testing::PrintToString(rejected);
}

TEST_F(CommitTest, UnreadableOrOrphanMarkersAreRefused) {
  save(1);
  save(2);
  std::ofstream(marker_path(ckpt(2))) << "{not json";
  std::ofstream(marker_path(ckpt(3))) << "{}";  // a marker without its file
  std::vector<std::string> rejected;
  EXPECT_EQ(find_latest(dir_.string(), &rejected), ckpt(1));
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000002.h5", "unreadable")) << ::testing::PrintToString(rejected);
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000003.h5")) << ::testing::PrintToString(rejected);
}

TEST_F(CommitTest, InterruptedSavesLeaveNothingResumeWouldTake) {
  save(1);
  save(2);
  const auto bytes = testing::read_file(ckpt(2));
  // Died while HDF5 was writing: a partial temp file.
  testing::write_file(ckpt(3) + ".tmp", std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  // Died between rename and marker: a complete, valid file without marker.
  testing::write_file(ckpt(4), bytes);
  std::vector<std::string> rejected;
  EXPECT_EQ(find_latest(dir_.string(), &rejected), ckpt(2));
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000004.h5", "no completion marker")) << ::testing::PrintToString(rejected);
  EXPECT_TRUE(any_contains(rejected, "ckpt-00000003.h5.tmp", "interrupted")) << ::testing::PrintToString(rejected);
  expect_error([&] { resolve_resume(ckpt(4), dir_.string()); }, {"ckpt-00000004.h5", "no completion marker"});
  // The next successful save clears the leftovers it can prove stale.
  save(5);
  const auto files = listing();
  EXPECT_FALSE(files.count("ckpt-00000003.h5.tmp"));
  EXPECT_FALSE(files.count("ckpt-00000004.h5"));
  EXPECT_EQ(find_latest(dir_.string()), ckpt(5));
}

TEST_F(CommitTest, KilledDuringSaveLeavesNothingResumeWouldTake) {
  // ~16 MB per save so a SIGKILL lands inside HDF5 writes, fsync or commit.
  const int64_t n = 4 << 20;
  CheckpointState s = state_at(0, n);
  const auto t0 = std::chrono::steady_clock::now();
  save_checkpoint(path("probe"), s, 1);
  const double save_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::mt19937_64 rng(5);
  int rounds_with_checkpoint = 0;
  for (int round = 0; round < 6; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // child: save forever; the first element carries the step
      try {
        for (int64_t step = round * 1000 + 1;; ++step) {
          s.step = step;
          s.model["w"].data_ptr<float>()[0] = static_cast<float>(step);
          save_checkpoint(dir_.string(), s, 2);
        }
      } catch (...) {
        ::_exit(3);
      }
    }
    const double delay = save_s * (0.3 + 2.5 * static_cast<double>(rng() % 1000) / 1000.0);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own (status " << status << ")";
    auto latest = find_latest(dir_.string());
    if (!latest) continue;
    ++rounds_with_checkpoint;
    const CheckpointState back = load_checkpoint(*latest);
    EXPECT_EQ(step_of_filename(fs::path(*latest).filename().string()), back.step);
    const at::Tensor w = back.model.at("w");
    EXPECT_EQ(w.data_ptr<float>()[0], static_cast<float>(back.step));
    EXPECT_TRUE(at::equal(w.slice(0, 1), s.model.at("w").slice(0, 1))) << "round " << round;
  }
  EXPECT_GT(rounds_with_checkpoint, 0) << "no kill landed after a completed save: the test proved nothing";
}

TEST_F(CommitTest, ResolveResumeSpecs) {
  EXPECT_FALSE(resolve_resume("", dir_.string()).has_value());
  EXPECT_FALSE(resolve_resume("none", dir_.string()).has_value());
  EXPECT_FALSE(resolve_resume("auto", dir_.string()).has_value()) << "empty directory: fresh start";
  EXPECT_FALSE(resolve_resume("auto", path("absent")).has_value());
  save(3);
  save(4);
  EXPECT_EQ(resolve_resume("auto", dir_.string()), ckpt(4));
  EXPECT_EQ(resolve_resume(dir_.string(), "/elsewhere"), ckpt(4));
  EXPECT_EQ(resolve_resume(ckpt(3), "/elsewhere"), ckpt(3));
  expect_error([&] { resolve_resume(path("nope.h5"), dir_.string()); }, {"nope.h5", "no such file"});
  fs::resize_file(ckpt(3), 100);
  expect_error([&] { resolve_resume(ckpt(3), dir_.string()); }, {"ckpt-00000003.h5", "truncated"});
}

}  // namespace
}  // namespace pgenrm::checkpoint
