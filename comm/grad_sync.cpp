#include "comm/grad_sync.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "core/error.h"

namespace pgenrm::comm {

namespace {

// libtorch keeps one post-accumulate-grad hook slot per leaf (Python's
// register_post_accumulate_grad_hook fills it with a dict); we own it.
class ReadyHook : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(GradBucketer* owner, int64_t i) : owner_(owner), i_(i) {}
  void operator()(const torch::autograd::Variable&) override { owner_->on_grad_ready(i_); }

 private:
  GradBucketer* owner_;
  int64_t i_;
};

}  // namespace

struct GradBucketer::Bucket {
  std::vector<int64_t> params;
  std::vector<int64_t> offsets;  // element offset of each param in `flat`
  at::Tensor flat;
  int64_t pending = 0;  // params whose gradient is not final yet (armed)
  std::unique_ptr<Work> work;
};

GradBucketer::GradBucketer(Collectives& c, std::vector<at::Tensor> params, BucketOptions opts)
    : c_(c), params_(std::move(params)), opts_(opts) {
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(opts_.bucket_mb * (1 << 20)));
  bucket_of_.assign(params_.size(), -1);
  seen_.assign(params_.size(), false);
  Bucket* cur = nullptr;
  int64_t bytes = 0;
  for (int64_t i = static_cast<int64_t>(params_.size()) - 1; i >= 0; --i) {
    const at::Tensor& p = params_[i];
    PGENRM_CHECK(p.is_leaf() && p.requires_grad(),
                 "gradient bucket for parameter " + std::to_string(i) +
                     " that is not a leaf requiring grad",
                 "pass the trainable parameters only");
    const int64_t pb = p.numel() * p.element_size();
    const bool fits = cur && bytes + pb <= cap && cur->flat.scalar_type() == p.scalar_type() &&
                      cur->flat.device() == p.device();
    if (!fits) {
      buckets_.push_back(std::make_unique<Bucket>());
      cur = buckets_.back().get();
      cur->flat = at::empty({0}, p.options().requires_grad(false));
      bytes = 0;
    }
    cur->offsets.push_back(bytes / p.element_size());
    cur->params.push_back(i);
    bytes += pb;
    bucket_of_[i] = static_cast<int64_t>(buckets_.size()) - 1;
    cur->flat = at::empty({bytes / p.element_size()}, cur->flat.options());
  }
  for (size_t i = 0; i < params_.size(); ++i)
    torch::autograd::impl::set_post_acc_grad_hooks(params_[i],
                                                   std::make_unique<ReadyHook>(this, i));
}

GradBucketer::~GradBucketer() {
  for (auto& b : buckets_) b->work.reset();  // waits
  for (auto& p : params_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
}

void GradBucketer::arm() {
  armed_ = true;
  launched_in_backward_ = 0;
  next_launch_ = 0;
  std::fill(seen_.begin(), seen_.end(), false);
  for (auto& b : buckets_) b->pending = static_cast<int64_t>(b->params.size());
}

void GradBucketer::on_grad_ready(int64_t i) {
  if (!armed_ || seen_[i]) return;
  seen_[i] = true;
  Bucket& b = *buckets_[bucket_of_[i]];
  if (--b.pending == 0) launch_ready_in_order();
  // Non-blocking MPI collectives progress only inside MPI calls: polling the
  // ones in flight here lets them move while backward computes.
  for (int64_t k = 0; k < next_launch_; ++k)
    if (buckets_[k]->work) buckets_[k]->work->test();
}

void GradBucketer::launch_ready_in_order() {
  while (next_launch_ < n_buckets() && buckets_[next_launch_]->pending == 0) {
    launch(next_launch_++);
    ++launched_in_backward_;
  }
}

void GradBucketer::launch(int64_t b) {
  Bucket& bk = *buckets_[b];
  for (size_t k = 0; k < bk.params.size(); ++k) {
    const at::Tensor& p = params_[bk.params[k]];
    at::Tensor slot = bk.flat.narrow(0, bk.offsets[k], p.numel());
    const at::Tensor& g = p.grad();
    // A parameter the forward did not use has no gradient: it contributes 0.
    if (g.defined()) {
      slot.copy_(g.reshape({-1}));
    } else {
      slot.zero_();
    }
  }
  bk.work = c_.all_reduce_async(bk.flat, opts_.op, "grads bucket " + std::to_string(b));
}

void GradBucketer::finish() {
  const bool was_armed = armed_;
  armed_ = false;
  if (!was_armed) next_launch_ = 0;
  while (next_launch_ < n_buckets()) launch(next_launch_++);
  for (auto& bp : buckets_) {
    Bucket& b = *bp;
    b.work->wait();
    b.work.reset();
    for (size_t k = 0; k < b.params.size(); ++k) {
      at::Tensor& p = params_[b.params[k]];
      at::Tensor reduced = b.flat.narrow(0, b.offsets[k], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(reduced);
      } else {
        p.mutable_grad() = reduced.clone();
      }
    }
  }
  next_launch_ = 0;
}

BucketedGradSync::BucketedGradSync(Collectives& c, BucketOptions opts) : c_(c), opts_(opts) {}
BucketedGradSync::~BucketedGradSync() = default;

void BucketedGradSync::attach(const std::vector<at::Tensor>& params) {
  bucketer_ = std::make_unique<GradBucketer>(c_, params, opts_);
}

void BucketedGradSync::all_reduce_grads(const std::vector<at::Tensor>& params) {
  if (c_.size() == 1) return;  // sum and avg over one rank are identities
  bool same = bucketer_ && bucketer_->params().size() == params.size();
  for (size_t i = 0; same && i < params.size(); ++i)
    same = bucketer_->params()[i].unsafeGetTensorImpl() == params[i].unsafeGetTensorImpl();
  if (!same) attach(params);
  bucketer_->finish();
}

double BucketedGradSync::all_reduce_sum(double v) {
  if (c_.size() == 1) return v;
  return c_.all_reduce_scalar(v, ReduceOp::kSum, "scalar sum");
}

void BucketedGradSync::arm_overlap() {
  if (bucketer_ && c_.size() > 1) bucketer_->arm();
}

}  // namespace pgenrm::comm
