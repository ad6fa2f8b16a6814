// Weights from learner rank 0 to the rollout ranks, versioned and checked.
//
// What it does: learner 0 packs the parameters into one byte buffer, sends
// a header (version, tensor count, byte count, layout fingerprint of the
// dtypes and shapes, checksum of the bytes), then the buffer, over the
// weight-sync communicator; each receiver verifies the layout before
// receiving and the checksum after, unpacks into its parameters, and
// records the version, which every sample it then produces carries.
// A mismatch throws pgenrm::Error naming the version and both checksums.
//
// The checksum is a 4-lane 64-bit multiply-rotate hash (xxHash64's
// constants and mixing): fast enough to run over every broadcast (several
// GB/s) and good at catching torn or flipped bytes; it is not a defence
// against an adversary (the weight-sync group is trusted).
//
// What it deliberately doesn't: decide when to sync (the trainer does:
// every update, or every k, per max_staleness), send optimizer state, or
// stream over sockets (the coordinator carries no weights).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "comm/collectives.h"

namespace pgenrm::comm {

uint64_t checksum_bytes(const void* data, size_t n, uint64_t seed = 0);
// Of the tensors' bytes concatenated in order (= the header's checksum).
uint64_t checksum_tensors(const std::vector<at::Tensor>& ts);
// Over dtypes and shapes only: two models agree iff they can exchange bytes.
uint64_t layout_fingerprint(const std::vector<at::Tensor>& ts);

struct WeightHeader {
  int64_t version = -1;
  int64_t n_tensors = 0;
  int64_t n_bytes = 0;
  uint64_t layout = 0;
  uint64_t checksum = 0;
};

class WeightSync {
 public:
  // `group`: the weight-sync communicator; `root`: the sender's rank in it.
  explicit WeightSync(Collectives& group, int root = 0) : c_(group), root_(root) {}

  // Collective over the group. On the root, sends `params` as `version` and
  // returns it; elsewhere, overwrites `params` with the root's weights after
  // verifying them and returns the root's version.
  int64_t sync(const std::vector<at::Tensor>& params, int64_t version);

  // The version this rank holds (-1 before the first sync).
  int64_t version() const { return version_; }
  const WeightHeader& last_header() const { return last_; }

  // Test hook: runs on a receiver between receive and verification, so a
  // test can corrupt the bytes in flight.
  void set_receive_fault_for_test(std::function<void(at::Tensor& bytes)> f) {
    fault_ = std::move(f);
  }

 private:
  Collectives& c_;
  int root_;
  int64_t version_ = -1;
  WeightHeader last_;
  std::function<void(at::Tensor&)> fault_;
};

}  // namespace pgenrm::comm
