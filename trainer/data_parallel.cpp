#include "trainer/data_parallel.h"

#include <ATen/ATen.h>

#include "comm/collectives.h"
#include "comm/grad_sync.h"

namespace pgenrm::trainer {

DataParallel::DataParallel(comm::Collectives* learners, double bucket_mb)
    : c_(learners && learners->size() > 1 ? learners : nullptr), bucket_mb_(bucket_mb) {
  if (c_) {
    rank_ = c_->rank();
    size_ = c_->size();
  }
}

std::pair<size_t, size_t> DataParallel::shard(size_t n) const {
  const size_t r = static_cast<size_t>(rank_), w = static_cast<size_t>(size_);
  const size_t base = n / w, extra = n % w;
  const size_t begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

double DataParallel::sum(double v) const {
  if (!c_) return v;
  at::Tensor t = at::tensor({v}, at::kDouble);
  c_->all_reduce(t, comm::ReduceOp::kSum, "scalar sum");
  return t.item<double>();
}

bool DataParallel::any(bool v) const {
  if (!c_) return v;
  at::Tensor t = at::tensor({static_cast<int32_t>(v)}, at::kInt);
  c_->all_reduce(t, comm::ReduceOp::kMax, "flag");
  return t.item<int32_t>() != 0;
}

void DataParallel::barrier(const std::string& label) const {
  if (c_) c_->barrier(label);
}

std::vector<std::vector<uint8_t>> DataParallel::all_gather_bytes(const std::vector<uint8_t>& mine) const {
  if (!c_) return {mine};
  at::Tensor len = at::tensor({static_cast<int64_t>(mine.size())}, at::kLong);
  at::Tensor lens = c_->all_gather(len, "byte lengths");
  const int64_t longest = lens.max().item<int64_t>();
  at::Tensor buf = at::zeros({1, std::max<int64_t>(longest, 1)}, at::kByte);
  std::copy(mine.begin(), mine.end(), buf.data_ptr<uint8_t>());
  at::Tensor all = c_->all_gather(buf, "bytes").contiguous();
  std::vector<std::vector<uint8_t>> out;
  for (int r = 0; r < size_; ++r) {
    const uint8_t* p = all[r].data_ptr<uint8_t>();
    out.emplace_back(p, p + lens[r].item<int64_t>());
  }
  return out;
}

void DataParallel::broadcast_string(std::string& s, const std::string& label) const {
  if (!c_) return;
  at::Tensor len = at::tensor({static_cast<int64_t>(rank_ == 0 ? s.size() : 0)}, at::kLong);
  c_->broadcast(len, 0, label + " (length)");
  const int64_t n = len.item<int64_t>();
  at::Tensor buf = at::zeros({std::max<int64_t>(n, 1)}, at::kByte);
  if (rank_ == 0) std::copy(s.begin(), s.end(), buf.data_ptr<uint8_t>());
  c_->broadcast(buf, 0, label);
  if (rank_ != 0) s.assign(reinterpret_cast<const char*>(buf.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

std::unique_ptr<comm::GradSync> DataParallel::make_grad_sync(const std::vector<at::Tensor>& params) const {
  if (!c_) return nullptr;
  comm::BucketOptions o;
  o.bucket_mb = bucket_mb_;
  o.op = comm::ReduceOp::kSum;
  auto s = std::make_unique<comm::BucketedGradSync>(*c_, o);
  std::vector<at::Tensor> trainable;
  for (const auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  s->attach(trainable);
  return s;
}

}  // namespace pgenrm::trainer
