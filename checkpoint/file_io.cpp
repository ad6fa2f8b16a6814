// fsync, atomic small files and file digests for checkpoint commits.
// The CRC comes from zlib (already linked through HDF5): hardware-independent,
// a few GB/s, and any truncation or flipped byte changes it.
#include "checkpoint/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace pgenrm::checkpoint::file_io {

namespace fs = std::filesystem;

namespace {

constexpr size_t kReadBlock = size_t{8} << 20;

std::string errno_text() { return std::strerror(errno); }

// An fd that closes itself.
class Fd {
 public:
  Fd(const std::string& path, int flags, mode_t mode = 0) : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

void fsync_file(const std::string& path) {
  Fd fd(path, O_RDONLY);
  if (fd.get() < 0 || ::fsync(fd.get()) != 0)
    throw Error("cannot fsync " + path + ": " + errno_text(),
                "the checkpoint directory must be on a writable local or network file system");
}

void fsync_dir(const std::string& dir) {
  Fd fd(dir.empty() ? "." : dir, O_RDONLY | O_DIRECTORY);
  // Some network file systems refuse fsync on directories (EINVAL): the
  // rename is then as durable as that file system makes it, nothing more to do.
  if (fd.get() < 0 || (::fsync(fd.get()) != 0 && errno != EINVAL))
    throw Error("cannot fsync directory " + dir + ": " + errno_text(),
                "check that the checkpoint directory exists and is writable");
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    Fd fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd.get() < 0) throw Error("cannot create " + tmp + ": " + errno_text(), "check directory permissions");
    size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Error("cannot write " + tmp + ": " + errno_text(), "check free disk space");
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) throw Error("cannot fsync " + tmp + ": " + errno_text(), "check the disk");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw Error("cannot rename " + tmp + " to " + path + ": " + errno_text(), "check directory permissions");
  fsync_dir(fs::path(path).parent_path().string());
}

std::string read_small_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw Error("cannot read " + path + ": " + errno_text(), "");
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

FileDigest digest_file(const std::string& path) {
  Fd fd(path, O_RDONLY);
  if (fd.get() < 0) throw Error("cannot read " + path + ": " + errno_text(), "");
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<unsigned char> buf(kReadBlock);
  FileDigest d;
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (true) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot read " + path + ": " + errno_text(), "");
    if (n == 0) break;
    crc = ::crc32(crc, buf.data(), static_cast<uInt>(n));
    d.bytes += n;
  }
  d.crc32 = static_cast<uint32_t>(crc);
  return d;
}

std::string crc_hex(uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", crc);
  return buf;
}

bool remove_quietly(const std::string& path, std::string* problem) {
  std::error_code ec;
  const bool removed = fs::remove(path, ec);
  if (ec && problem != nullptr) *problem = "cannot remove " + path + ": " + ec.message();
  return removed;
}

}  // namespace pgenrm::checkpoint::file_io
