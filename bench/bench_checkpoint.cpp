// Checkpoint save/load throughput against a plain sequential write/read of
// the same number of bytes to the same disk, measured in the same run.
//
// State: 16 fp32 matrices of 1024x1024 as the model plus AdamW's exp_avg and
// exp_avg_sq for each (~201 MB), random values. Each operation runs
// `--repeat` times (default 3); the median is reported. "cold" reads drop the
// file's pages from the page cache first (posix_fadvise DONTNEED), "warm"
// reads find them there. Plain I/O: fwrite in 8 MiB blocks + fflush + fsync;
// fread into a preallocated buffer.
//
// Prints a Markdown table and one JSON line. Reports, never asserts on time.
//
// Not here: correctness (tests/checkpoint).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "checkpoint/checkpoint.h"

namespace fs = std::filesystem;
using pgenrm::checkpoint::CheckpointState;

namespace {

constexpr int kMatrices = 16;
constexpr int64_t kSide = 1024;
constexpr size_t kBlock = size_t{8} << 20;

struct Options {
  std::string dir;
  int repeat = 3;
};

Options parse(int argc, char** argv) {
  Options o;
  o.dir = (fs::temp_directory_path() / ("pgenrm_bench_ckpt_" + std::to_string(::getpid()))).string();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) o.dir = argv[++i];
    else if (a == "--repeat" && i + 1 < argc) o.repeat = std::max(1, std::atoi(argv[++i]));
    else {
      std::cerr << "usage: bench_checkpoint [--dir DIR (same disk as checkpoints)] [--repeat N]\n";
      std::exit(a == "--help" ? 0 : 2);
    }
  }
  return o;
}

CheckpointState make_state() {
  CheckpointState s;
  s.step = 1;
  s.stage = "bench";
  for (int i = 0; i < kMatrices; ++i) {
    const std::string name = "model.layers." + std::to_string(i) + ".mlp.up_proj.weight";
    s.model[name] = at::randn({kSide, kSide});
    s.optim[name]["exp_avg"] = at::randn({kSide, kSide});
    s.optim[name]["exp_avg_sq"] = at::rand({kSide, kSide});
    s.optim[name]["step"] = at::scalar_tensor(1, at::kLong);
  }
  return s;
}

std::vector<const at::Tensor*> all_tensors(const CheckpointState& s) {
  std::vector<const at::Tensor*> out;
  for (const auto& [n, t] : s.model) out.push_back(&t);
  for (const auto& [n, f] : s.optim)
    for (const auto& [k, t] : f) out.push_back(&t);
  return out;
}

int64_t payload_bytes(const CheckpointState& s) {
  int64_t n = 0;
  for (const at::Tensor* t : all_tensors(s)) n += static_cast<int64_t>(t->nbytes());
  return n;
}

void drop_cache(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// The same bytes as the checkpoint's tensors, written the plain way.
void plain_write(const std::string& path, const CheckpointState& s) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  for (const at::Tensor* t : all_tensors(s)) {
    const auto* p = static_cast<const char*>(t->data_ptr());
    for (size_t off = 0; off < t->nbytes(); off += kBlock)
      std::fwrite(p + off, 1, std::min(kBlock, t->nbytes() - off), f);
  }
  std::fflush(f);
  ::fsync(::fileno(f));
  std::fclose(f);
}

void plain_read(const std::string& path, std::vector<char>& buf) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  size_t off = 0, n = 0;
  while ((n = std::fread(buf.data() + off, 1, std::min(kBlock, buf.size() - off), f)) > 0) off += n;
  std::fclose(f);
}

double median_seconds(int repeat, const std::function<void()>& before, const std::function<void()>& op) {
  std::vector<double> t;
  for (int i = 0; i < repeat; ++i) {
    before();
    const auto t0 = std::chrono::steady_clock::now();
    op();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

struct Row {
  std::string name;
  double seconds;
  double baseline;  // seconds of the plain counterpart
};

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  at::set_num_threads(1);
  at::manual_seed(0);
  fs::create_directories(opt.dir);
  const CheckpointState s = make_state();
  const int64_t bytes = payload_bytes(s);
  const double mb = static_cast<double>(bytes) / 1e6;
  const std::string plain = (fs::path(opt.dir) / "plain.bin").string();
  const std::string ckpt = (fs::path(opt.dir) / pgenrm::checkpoint::checkpoint_filename(s.step)).string();
  std::vector<char> buf(static_cast<size_t>(bytes));
  auto nothing = [] {};
  pgenrm::checkpoint::LoadOptions raw;
  raw.verify_marker = false;

  const double w_plain = median_seconds(opt.repeat, nothing, [&] { plain_write(plain, s); });
  std::vector<pgenrm::checkpoint::CommitInfo> saves;
  const double w_ckpt = median_seconds(opt.repeat, nothing,
                                       [&] { saves.push_back(pgenrm::checkpoint::save_checkpoint(opt.dir, s, 1)); });
  const double r_plain_cold = median_seconds(opt.repeat, [&] { drop_cache(plain); }, [&] { plain_read(plain, buf); });
  const double r_ckpt_cold = median_seconds(opt.repeat, [&] { drop_cache(ckpt); }, [&] { pgenrm::checkpoint::load_checkpoint(ckpt); });
  const double r_plain_warm = median_seconds(opt.repeat, nothing, [&] { plain_read(plain, buf); });
  const double r_ckpt_warm = median_seconds(opt.repeat, nothing, [&] { pgenrm::checkpoint::load_checkpoint(ckpt); });
  const double r_ckpt_raw = median_seconds(opt.repeat, nothing, [&] { pgenrm::checkpoint::load_checkpoint(ckpt, raw); });
  const int64_t file_bytes = static_cast<int64_t>(fs::file_size(ckpt));

  const std::vector<Row> rows = {
      {"save (HDF5 + Fletcher32, fsync, CRC, rename, marker)", w_ckpt, w_plain},
      {"plain write (fwrite + fsync)", w_plain, w_plain},
      {"load, cold cache (marker CRC + HDF5 read + Fletcher32)", r_ckpt_cold, r_plain_cold},
      {"plain read, cold cache (fread)", r_plain_cold, r_plain_cold},
      {"load, warm cache", r_ckpt_warm, r_plain_warm},
      {"load, warm cache, marker check off", r_ckpt_raw, r_plain_warm},
      {"plain read, warm cache", r_plain_warm, r_plain_warm},
  };
  std::cout << "checkpoint bench: " << mb << " MB of tensors (" << file_bytes << " bytes on disk), dir " << opt.dir
            << ", median of " << opt.repeat << "\n\n";
  std::cout << "| operation | s | MB/s | time vs plain |\n|---|---:|---:|---:|\n";
  std::ostringstream js;
  js << "{\"bench\":\"checkpoint\",\"payload_bytes\":" << bytes << ",\"file_bytes\":" << file_bytes << ",\"repeat\":"
     << opt.repeat << ",\"results\":{";
  const char* keys[] = {"save", "plain_write", "load_cold", "plain_read_cold", "load_warm", "load_warm_no_marker",
                        "plain_read_warm"};
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    char line[256];
    std::snprintf(line, sizeof line, "| %s | %.3f | %.0f | %.2fx |\n", r.name.c_str(), r.seconds, mb / r.seconds,
                  r.seconds / r.baseline);
    std::cout << line;
    js << (i ? "," : "") << "\"" << keys[i] << "\":{\"s\":" << r.seconds << ",\"mb_per_s\":" << mb / r.seconds << "}";
  }
  auto median_of = [&](double pgenrm::checkpoint::CommitInfo::*field) {
    std::vector<double> v;
    for (const auto& c : saves) v.push_back(c.*field);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double w = median_of(&pgenrm::checkpoint::CommitInfo::write_seconds);
  const double f = median_of(&pgenrm::checkpoint::CommitInfo::fsync_seconds);
  const double c = median_of(&pgenrm::checkpoint::CommitInfo::digest_seconds);
  std::cout << "\nsave breakdown (medians): HDF5 write " << w << " s, fsync " << f << " s, CRC-32 read-back " << c
            << " s\n";
  js << "},\"save_breakdown\":{\"write_s\":" << w << ",\"fsync_s\":" << f << ",\"crc_s\":" << c << "}}";
  std::cout << "\n" << js.str() << "\n";
  fs::remove_all(opt.dir);
  return 0;
}
