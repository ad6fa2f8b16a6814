// Length-prefixed frames: a 4-byte big-endian payload length, then the
// payload (a JSON object in UTF-8). The reader is incremental so a
// connection can tell "between frames" (idle) from "inside a frame"
// (a stalled sender) and enforce a size cap before buffering anything.
// What it deliberately doesn't: parse JSON or touch sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgenrm::coordinator {

inline constexpr size_t kFrameHeaderBytes = 4;

std::string encode_frame(std::string_view payload);

class FrameReader {
 public:
  enum class Status { kNeedMore, kFrame, kOversized };
  explicit FrameReader(size_t max_payload) : max_(max_payload) {}

  // Appends bytes; call next() until it stops returning kFrame.
  void feed(const char* data, size_t n) { buf_.append(data, n); }
  // kFrame: `out` holds one payload. kOversized: the announced length
  // exceeds the cap (the connection must be dropped; nothing was buffered
  // beyond the bytes already received).
  Status next(std::string& out);
  // Some bytes of an unfinished frame are buffered.
  bool mid_frame() const { return !buf_.empty(); }
  uint64_t announced() const { return announced_; }

 private:
  size_t max_;
  std::string buf_;
  uint64_t announced_ = 0;
};

}  // namespace pgenrm::coordinator
