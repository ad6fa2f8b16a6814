// The commit protocol and resume discovery of checkpoint/checkpoint.h:
// temp file → fsync → rename → marker, pruning to the last K, and the search
// for the newest checkpoint whose marker vouches for it.
//
// Not here: the file's contents (layout.cpp), POSIX details (file_io.cpp).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint.h"
#include "checkpoint/file_io.h"
#include "checkpoint/layout.h"
#include "core/error.h"
#include "core/log.h"

namespace pgenrm::checkpoint {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kPrefix = "ckpt-";
constexpr const char* kMarkerFormat = "pgenrm-checkpoint-marker";
constexpr int kMarkerVersion = 1;

// What a checkpoint directory holds, by step.
struct Listing {
  std::set<int64_t> data;     // ckpt-N.h5
  std::set<int64_t> markers;  // ckpt-N.done
  std::vector<std::string> temps;  // ckpt-*.tmp (interrupted saves)
};

std::optional<int64_t> parse_step(const std::string& name, const std::string& suffix) {
  const size_t prefix = std::char_traits<char>::length(kPrefix);
  if (name.size() <= prefix + suffix.size() || name.compare(0, prefix, kPrefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = name.substr(prefix, name.size() - prefix - suffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(digits);
}

Listing list_dir(const std::string& dir) {
  Listing l;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (auto s = parse_step(name, ".h5")) l.data.insert(*s);
    else if (auto s = parse_step(name, ".done")) l.markers.insert(*s);
    else if (name.rfind(kPrefix, 0) == 0 && name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0)
      l.temps.push_back(entry.path().string());
  }
  return l;
}

std::string path_in(const std::string& dir, int64_t step) { return (fs::path(dir) / checkpoint_filename(step)).string(); }

std::string marker_json(int64_t step, const std::string& filename, const file_io::FileDigest& d) {
  json j;
  j["format"] = kMarkerFormat;
  j["version"] = kMarkerVersion;
  j["step"] = step;
  j["files"] = json::array({{{"name", filename}, {"bytes", d.bytes}, {"crc32", file_io::crc_hex(d.crc32)}}});
  return j.dump() + "\n";
}

struct MarkerEntry {
  int64_t step = 0;
  int64_t bytes = 0;
  std::string crc32;
};

// The marker's entry for `filename`, or the reason there is none.
std::optional<MarkerEntry> parse_marker(const std::string& marker, const std::string& filename, std::string* problem) {
  try {
    const json j = json::parse(file_io::read_small_file(marker));
    if (j.value("format", "") != kMarkerFormat || j.value("version", 0) != kMarkerVersion) {
      *problem = "completion marker " + marker + " is not a version-1 pgenrm marker";
      return std::nullopt;
    }
    for (const auto& f : j.at("files"))
      if (f.at("name").get<std::string>() == filename)
        return MarkerEntry{j.at("step").get<int64_t>(), f.at("bytes").get<int64_t>(), f.at("crc32").get<std::string>()};
    *problem = "completion marker " + marker + " does not list " + filename;
  } catch (const std::exception& e) {
    *problem = "completion marker " + marker + " is unreadable (" + e.what() + ")";
  }
  return std::nullopt;
}

// Size and CRC of `path` against its marker; the reason when they disagree.
std::optional<std::string> check_against_marker(const std::string& path, MarkerEntry* entry_out) {
  const std::string marker = marker_path(path);
  if (!fs::exists(marker)) return "no completion marker " + fs::path(marker).filename().string() +
                                   " (the save did not finish)";
  std::string problem;
  auto entry = parse_marker(marker, fs::path(path).filename().string(), &problem);
  if (!entry) return problem;
  if (!fs::exists(path)) return "the file is missing (its marker exists)";
  const auto digest = file_io::digest_file(path);
  if (digest.bytes != entry->bytes)
    return std::string(digest.bytes < entry->bytes ? "truncated" : "extended") + ": " +
           std::to_string(digest.bytes) + " bytes on disk, the marker says " + std::to_string(entry->bytes);
  if (file_io::crc_hex(digest.crc32) != entry->crc32)
    return "corrupted: CRC-32 " + file_io::crc_hex(digest.crc32) + " on disk, the marker says " + entry->crc32;
  if (entry_out != nullptr) *entry_out = *entry;
  return std::nullopt;
}

// The first line of a load error, without the "checkpoint <path> " it starts
// with (the caller names the file already).
std::string reason_from(const Error& e, const std::string& path) {
  std::string line = std::string(e.what()).substr(0, std::string(e.what()).find('\n'));
  const std::string prefix = "checkpoint " + path + " ";
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line;
}

void note(std::vector<std::string>* rejected, const std::string& what) {
  PGENRM_LOG_WARN("checkpoint ", what);
  if (rejected != nullptr) rejected->push_back(what);
}

// Walks the steps of `dir` newest first and returns the first whose data file
// `accept` takes (accept returns the reason to refuse, or nullopt).
template <class Accept>
std::optional<std::string> newest_accepted(const std::string& dir, std::vector<std::string>* rejected,
                                           Accept&& accept) {
  if (!fs::is_directory(dir)) return std::nullopt;
  const Listing l = list_dir(dir);
  std::set<int64_t> steps = l.data;
  steps.insert(l.markers.begin(), l.markers.end());
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const std::string path = path_in(dir, *it);
    if (!l.markers.count(*it)) {
      note(rejected, path + ": no completion marker (a save was interrupted); ignored");
      continue;
    }
    if (auto problem = accept(path)) {
      note(rejected, path + ": " + *problem + "; falling back to the previous checkpoint");
      continue;
    }
    for (const auto& t : l.temps) note(rejected, t + ": leftover of an interrupted save; ignored");
    return path;
  }
  for (const auto& t : l.temps) note(rejected, t + ": leftover of an interrupted save; ignored");
  return std::nullopt;
}

// Keeps the newest `keep_last` complete checkpoints, removes every temp file
// and the halves of interrupted saves up to `saved_step`.
void prune(const std::string& dir, int keep_last, int64_t saved_step) {
  const Listing l = list_dir(dir);
  std::string problem;
  auto remove = [&](const std::string& path) {
    if (file_io::remove_quietly(path, &problem)) PGENRM_LOG_DEBUG("checkpoint removed ", path);
    if (problem.empty()) return;
    PGENRM_LOG_WARN("checkpoint ", problem);
    problem.clear();
  };
  std::vector<int64_t> complete;
  for (int64_t s : l.data)
    if (l.markers.count(s)) complete.push_back(s);
  std::sort(complete.rbegin(), complete.rend());
  // The marker goes first: a crash between the two unlinks leaves a data file
  // that resume ignores, never a marker without its data.
  for (size_t i = keep_last > 0 ? static_cast<size_t>(keep_last) : complete.size(); i < complete.size(); ++i) {
    remove(marker_path(path_in(dir, complete[i])));
    remove(path_in(dir, complete[i]));
  }
  for (const auto& t : l.temps) remove(t);
  for (int64_t s : l.data)
    if (!l.markers.count(s) && s <= saved_step) remove(path_in(dir, s));
  for (int64_t s : l.markers)
    if (!l.data.count(s)) remove(marker_path(path_in(dir, s)));
  file_io::fsync_dir(dir);
  if (!complete.empty() && complete.front() > saved_step)
    PGENRM_LOG_WARN("checkpoint ", dir, " holds step ", complete.front(), ", newer than the step ", saved_step,
                    " just saved (an older run?); `--resume auto` would take it: move it away");
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string checkpoint_filename(int64_t step) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%08lld.h5", kPrefix, static_cast<long long>(step));
  return buf;
}

std::string marker_path(const std::string& h5_path) {
  fs::path p(h5_path);
  p.replace_extension(".done");
  return p.string();
}

std::optional<int64_t> step_of_filename(const std::string& filename) { return parse_step(filename, ".h5"); }

CommitInfo save_checkpoint(const std::string& dir, const CheckpointState& state, int keep_last) {
  PGENRM_CHECK(state.step >= 0, "checkpoint step " + std::to_string(state.step) + " is negative",
               "pass the number of optimizer steps done");
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(dir, ec);
  PGENRM_CHECK(fs::is_directory(dir), "cannot create checkpoint directory " + dir + ": " + ec.message(),
               "set checkpoint.dir to a writable directory");
  CommitInfo info;
  info.path = path_in(dir, state.step);
  info.marker = marker_path(info.path);
  const std::string tmp = info.path + ".tmp";
  // An old marker of this step must never vouch for the file written now.
  if (file_io::remove_quietly(info.marker)) file_io::fsync_dir(dir);
  try {
    layout::write_state_file(tmp, state);
    info.write_seconds = seconds_since(t0);
    file_io::fsync_file(tmp);
    info.fsync_seconds = seconds_since(t0) - info.write_seconds;
  } catch (...) {
    file_io::remove_quietly(tmp);
    throw;
  }
  const auto t_digest = std::chrono::steady_clock::now();
  const auto digest = file_io::digest_file(tmp);
  info.digest_seconds = seconds_since(t_digest);
  if (std::rename(tmp.c_str(), info.path.c_str()) != 0)
    throw Error("cannot rename " + tmp + " to " + info.path + ": " + std::strerror(errno),
                "check permissions of the checkpoint directory");
  file_io::fsync_dir(dir);
  file_io::write_file_atomic(info.marker, marker_json(state.step, fs::path(info.path).filename().string(), digest));
  info.bytes = digest.bytes;
  info.crc32 = digest.crc32;
  info.seconds = seconds_since(t0);
  prune(dir, keep_last, state.step);
  PGENRM_LOG_INFO("checkpoint step ", state.step, " saved to ", info.path, " (", info.bytes / 1e6, " MB in ",
                  info.seconds, " s: write ", info.write_seconds, ", fsync ", info.fsync_seconds, ", CRC ",
                  info.digest_seconds, ")");
  return info;
}

CheckpointState load_checkpoint(const std::string& path, const LoadOptions& options) {
  PGENRM_CHECK(fs::is_regular_file(path), "checkpoint " + path + " does not exist",
               "pass a ckpt-<step>.h5 file, or --resume auto with the checkpoint directory");
  const bool has_marker = fs::exists(marker_path(path));
  if (options.require_marker || (options.verify_marker && has_marker)) {
    if (auto problem = check_against_marker(path, nullptr))
      throw Error("checkpoint " + path + " is refused: " + *problem,
                  "use an earlier checkpoint (`--resume auto` picks the newest sound one)");
  } else if (!has_marker) {
    PGENRM_LOG_WARN("checkpoint ", path, " has no completion marker; reading it anyway (dataset checksums only)");
  }
  return layout::read_state_file(path, options);
}

std::optional<std::string> verify_checkpoint(const std::string& path) {
  MarkerEntry entry;
  if (auto problem = check_against_marker(path, &entry)) return problem;
  try {
    LoadOptions meta_only;
    meta_only.tensors = false;
    const CheckpointState s = layout::read_state_file(path, meta_only);
    if (s.step != entry.step)
      return "holds step " + std::to_string(s.step) + " but its marker says " + std::to_string(entry.step);
  } catch (const Error& e) {
    return reason_from(e, path);
  }
  return std::nullopt;
}

std::optional<std::string> find_latest(const std::string& dir, std::vector<std::string>* rejected) {
  return newest_accepted(dir, rejected, [](const std::string& path) { return verify_checkpoint(path); });
}

std::optional<Resumed> load_latest(const std::string& dir, std::vector<std::string>* rejected,
                                   const LoadOptions& options) {
  std::optional<Resumed> out;
  auto accept = [&](const std::string& path) -> std::optional<std::string> {
    if (auto problem = verify_checkpoint(path)) return problem;
    try {
      LoadOptions verified = options;
      verified.verify_marker = false;  // verify_checkpoint just did
      out = Resumed{path, layout::read_state_file(path, verified)};
    } catch (const Error& e) {
      return reason_from(e, path);
    }
    return std::nullopt;
  };
  if (!newest_accepted(dir, rejected, accept)) return std::nullopt;
  return out;
}

std::optional<std::string> resolve_resume(const std::string& spec, const std::string& dir) {
  if (spec.empty() || spec == "none") return std::nullopt;
  const std::string where = spec == "auto" ? dir : spec;
  if (spec == "auto" || fs::is_directory(where)) {
    auto found = find_latest(where, nullptr);
    if (found) PGENRM_LOG_INFO("resuming from ", *found);
    else PGENRM_LOG_INFO("no complete checkpoint in ", where, ": starting fresh");
    return found;
  }
  PGENRM_CHECK(fs::exists(where), "--resume " + where + ": no such file or directory",
               "pass auto, a checkpoint directory or a ckpt-<step>.h5 file");
  if (auto problem = verify_checkpoint(where))
    throw Error("cannot resume from " + where + ": " + *problem,
                "pick another checkpoint, or --resume auto to take the newest sound one");
  return where;
}

}  // namespace pgenrm::checkpoint
