// The parts of collectives.h every backend shares, and the single-process
// backend (one rank: reductions are identities, gathers are copies).
#include "comm/collectives.h"

#include <ATen/ATen.h>

#include "core/error.h"

namespace pgenrm::comm {

const char* to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kAvg: return "avg";
    case ReduceOp::kMax: return "max";
    case ReduceOp::kMin: return "min";
  }
  return "?";
}

double Collectives::all_reduce_scalar(double v, ReduceOp op, std::string_view label) {
  at::Tensor t = at::full({1}, v, at::kDouble);
  all_reduce(t, op, label);
  return t.item<double>();
}

namespace {

class DoneWork : public Work {
 public:
  bool test() override { return true; }
  void wait() override {}
};

class SingleCollectives : public Collectives {
 public:
  explicit SingleCollectives(std::string group) : group_(std::move(group)) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  std::string group() const override { return group_; }

  void all_reduce(at::Tensor& t, ReduceOp op, std::string_view) override { check(t, op); }
  std::unique_ptr<Work> all_reduce_async(const at::Tensor& t, ReduceOp op,
                                         std::string_view) override {
    check(t, op);
    return std::make_unique<DoneWork>();
  }
  void broadcast(at::Tensor& t, int root, std::string_view) override {
    PGENRM_CHECK(root == 0, "broadcast from root " + std::to_string(root) + " in a group of 1",
                 "the single-process backend has only rank 0");
  }
  at::Tensor all_gather(const at::Tensor& t, std::string_view) override {
    return t.dim() == 0 ? t.reshape({1}).clone() : t.clone();
  }
  at::Tensor reduce_scatter(const at::Tensor& t, ReduceOp op, std::string_view) override {
    check(t, op);
    PGENRM_CHECK(t.dim() >= 1, "reduce_scatter of a 0-dim tensor",
                 "give a tensor whose dim 0 is divisible by the group size");
    return t.clone();
  }
  void barrier(std::string_view) override {}

 private:
  static void check(const at::Tensor& t, ReduceOp op) {
    PGENRM_CHECK(t.defined(), "collective on an undefined tensor", "pass a defined tensor");
    PGENRM_CHECK(op != ReduceOp::kAvg || at::isFloatingType(t.scalar_type()),
                 "avg all-reduce of an integer tensor",
                 "reduce with sum and divide where the rounding is yours to choose");
  }
  std::string group_;
};

}  // namespace

std::unique_ptr<Collectives> make_single_collectives(std::string group) {
  return std::make_unique<SingleCollectives>(std::move(group));
}

}  // namespace pgenrm::comm
