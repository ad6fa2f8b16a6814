#include "trainer/bt.h"

#include <ATen/ATen.h>

namespace pgenrm::trainer {

BtModelImpl::BtModelImpl(model::Transformer bb) {
  backbone = register_module("backbone", std::move(bb));
  const int64_t C = backbone->config().d_model;
  head_w = register_parameter("head_w", at::zeros({C}));
  head_b = register_parameter("head_b", at::zeros({}));
}

at::Tensor BtModelImpl::rewards(const at::Tensor& ids, const at::Tensor& keep) {
  at::Tensor h = backbone->hidden(ids, keep);                       // [B,T,C]
  at::Tensor last = keep.to(at::kLong).sum(1).sub(1).clamp_min(0);  // right padding
  at::Tensor h_last = h.gather(1, last.view({-1, 1, 1}).expand({-1, 1, h.size(2)})).squeeze(1);
  return at::matmul(h_last, head_w.to(h.scalar_type())) + head_b;
}

at::Tensor bt_loss(BtModelImpl& m, const TokenBatch& c, const TokenBatch& r, double* accuracy) {
  at::Tensor rc = m.rewards(c.ids_BT, c.keep_BT), rr = m.rewards(r.ids_BT, r.keep_BT);
  at::Tensor margin = (rc - rr).to(at::kFloat);
  if (accuracy) *accuracy = (margin > 0).to(at::kFloat).mean().item<double>();
  return -at::log_sigmoid(margin).mean();
}

}  // namespace pgenrm::trainer
