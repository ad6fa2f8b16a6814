// The POSIX side of an atomic commit, private to checkpoint/: fsync of files
// and directories, small files written by temp + fsync + rename, and the
// whole-file CRC-32 that completion markers carry.
//
// Not here: what the files contain, and which files a checkpoint has
// (checkpoint/commit.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace pgenrm::checkpoint::file_io {

// Flushes a file's data (and size) to stable storage. Throws pgenrm::Error.
void fsync_file(const std::string& path);
// Makes renames and unlinks in `dir` durable.
void fsync_dir(const std::string& dir);

// `content` into `path`: written to `path`.tmp, fsynced, renamed, directory
// fsynced; a crash leaves either the old file or the new one, never a torn one.
void write_file_atomic(const std::string& path, const std::string& content);
std::string read_small_file(const std::string& path);  // throws when unreadable

struct FileDigest {
  int64_t bytes = 0;
  uint32_t crc32 = 0;  // zlib's CRC-32 over every byte
};
FileDigest digest_file(const std::string& path);
std::string crc_hex(uint32_t crc);  // 8 lowercase hex digits

// Removes `path` if present; reports (does not throw) other failures.
bool remove_quietly(const std::string& path, std::string* problem = nullptr);

}  // namespace pgenrm::checkpoint::file_io
