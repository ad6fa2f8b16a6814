// Gradient synchronisation across learner ranks, overlapping backward.
//
// What it does:
//   GradSync          — the interface the train step calls (all_reduce_grads
//                       after the micro-batches, all_reduce_sum for
//                       counters); the base class is the single-process no-op.
//   GradBucketer      — groups parameters into buckets of ~bucket_mb (in
//                       reverse registration order: backward produces the
//                       last layers' gradients first), registers an autograd
//                       post-accumulate-grad hook on every parameter, and
//                       when armed, starts the non-blocking all-reduce of a
//                       bucket as soon as all of its gradients are final;
//                       finish() starts the rest, waits for all, writes the
//                       reduced values back into .grad.
//   BucketedGradSync  — GradSync over a GradBucketer and a Collectives.
// Buckets are launched strictly in bucket order on every rank (a bucket
// that is ready early waits for its predecessors), because collectives must
// be issued in the same order everywhere or they mismatch.
//
// Arming: a hook fires after *every* backward, but with gradient
// accumulation only the last micro-batch's backward leaves final gradients.
// arm() says "the next backward is the last one"; unarmed, the hooks do
// nothing and finish() reduces everything at once (still bucketed).
//
// What it deliberately doesn't: know the model, the loss or the optimizer;
// shard optimizer state (ZeRO); keep gradients as views into the buckets
// (a copy in and out costs little next to the reduction on CPU).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "comm/collectives.h"

namespace pgenrm::comm {

class GradSync {
 public:
  virtual ~GradSync() = default;
  virtual void all_reduce_grads(const std::vector<at::Tensor>& params) { (void)params; }
  virtual double all_reduce_sum(double v) { return v; }
  // The next backward() leaves the final gradients of this step.
  virtual void arm_overlap() {}
};

struct BucketOptions {
  double bucket_mb = 25;  // torch DDP's default; smaller buckets start sooner
  // kAvg when each rank's loss is normalised by its own (equal-sized)
  // batch; kSum when it is normalised by the global batch (all_reduce_sum of
  // the counts), which is exact also for unequal shards.
  ReduceOp op = ReduceOp::kAvg;
};

class GradBucketer {
 public:
  // Registers the hooks; `params` are leaves that require grad.
  GradBucketer(Collectives& c, std::vector<at::Tensor> params, BucketOptions opts);
  // Removes the hooks; waits for anything in flight.
  ~GradBucketer();
  GradBucketer(const GradBucketer&) = delete;
  GradBucketer& operator=(const GradBucketer&) = delete;

  void arm();
  void finish();

  int64_t n_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Buckets started from hooks during the last armed backward (overlap).
  int64_t launched_in_backward() const { return launched_in_backward_; }
  const std::vector<at::Tensor>& params() const { return params_; }

  // Called by the hook of parameter `i` (public for the hook object only).
  void on_grad_ready(int64_t i);

 private:
  struct Bucket;
  void launch(int64_t b);
  void launch_ready_in_order();

  Collectives& c_;
  std::vector<at::Tensor> params_;
  BucketOptions opts_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<int64_t> bucket_of_;  // per parameter
  std::vector<bool> seen_;          // per parameter, this step
  int64_t next_launch_ = 0;
  bool armed_ = false;
  int64_t launched_in_backward_ = 0;
};

class BucketedGradSync : public GradSync {
 public:
  BucketedGradSync(Collectives& c, BucketOptions opts = {});
  ~BucketedGradSync() override;
  // Builds the buckets and hooks now, so the first step overlaps too
  // (otherwise the first all_reduce_grads does it).
  void attach(const std::vector<at::Tensor>& params);
  void all_reduce_grads(const std::vector<at::Tensor>& params) override;
  double all_reduce_sum(double v) override;
  void arm_overlap() override;
  GradBucketer* bucketer() { return bucketer_.get(); }

 private:
  Collectives& c_;
  BucketOptions opts_;
  std::unique_ptr<GradBucketer> bucketer_;
};

}  // namespace pgenrm::comm
