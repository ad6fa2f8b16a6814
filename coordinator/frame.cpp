#include "coordinator/frame.h"

namespace pgenrm::coordinator {

std::string encode_frame(std::string_view payload) {
  const auto n = static_cast<uint32_t>(payload.size());
  std::string out(kFrameHeaderBytes, '\0');
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  out.append(payload);
  return out;
}

FrameReader::Status FrameReader::next(std::string& out) {
  if (buf_.size() < kFrameHeaderBytes) return Status::kNeedMore;
  const auto* b = reinterpret_cast<const unsigned char*>(buf_.data());
  announced_ = (uint64_t{b[0]} << 24) | (uint64_t{b[1]} << 16) | (uint64_t{b[2]} << 8) | b[3];
  if (announced_ > max_) return Status::kOversized;
  if (buf_.size() < kFrameHeaderBytes + announced_) return Status::kNeedMore;
  out.assign(buf_, kFrameHeaderBytes, announced_);
  buf_.erase(0, kFrameHeaderBytes + announced_);
  return Status::kFrame;
}

}  // namespace pgenrm::coordinator
