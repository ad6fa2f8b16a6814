#include "comm/mpi_backend.h"

#include <ATen/ATen.h>

#include <climits>
#include <vector>

#include "comm/watchdog.h"
#include "core/error.h"

namespace pgenrm::comm {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string(call) + " failed: " + std::string(text, len),
              "every rank must call the same collectives in the same order with the same "
              "shapes and dtypes");
}

namespace {

bool is_half(at::ScalarType s) { return s == at::kBFloat16 || s == at::kHalf; }

// The MPI type that carries `s` bit for bit (reductions need an arithmetic
// type: callers upcast 16-bit floats first and reject bool).
MPI_Datatype mpi_type(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    case at::kShort: return MPI_INT16_T;
    case at::kChar: return MPI_INT8_T;
    case at::kByte: return MPI_UINT8_T;
    case at::kBool: return MPI_UINT8_T;
    case at::kBFloat16:
    case at::kHalf: return MPI_UINT16_T;
    default:
      throw Error(std::string("no MPI type for dtype ") + c10::toString(s),
                  "use float32, float64, bfloat16, float16 or an integer dtype");
  }
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg: return MPI_SUM;
    case ReduceOp::kMax: return MPI_MAX;
    case ReduceOp::kMin: return MPI_MIN;
  }
  return MPI_SUM;
}

// The buffer MPI reads and writes for the user's tensor `t`: `t` itself
// when it is contiguous and of an MPI arithmetic type, else a staged copy
// that finish() writes back.
struct Staged {
  at::Tensor user, buf;
  bool copy_back = false;
};

Staged stage(const at::Tensor& t, bool for_reduce) {
  Staged s{t, t, false};
  if (for_reduce && is_half(t.scalar_type())) {
    s.buf = t.to(at::kFloat).contiguous();
    s.copy_back = true;
  } else if (!t.is_contiguous()) {
    s.buf = t.contiguous();
    s.copy_back = true;
  }
  return s;
}

// One collective split into requests of at most INT_MAX elements.
class MpiWork : public Work {
 public:
  MpiWork(const Watchdog& wd, std::string op, std::string group, std::string label)
      : wd_(wd), op_(std::move(op)), group_(std::move(group)), label_(std::move(label)) {}
  ~MpiWork() override {
    // Freeing the buffers MPI still writes would corrupt memory: wait, and
    // swallow errors (a destructor must not throw; the hang path aborts).
    try {
      if (!finished_) wait();
    } catch (...) {
    }
  }
  bool test() override {
    if (finished_) return true;
    int flag = 0;
    check_mpi(MPI_Testall(static_cast<int>(reqs_.size()), reqs_.data(), &flag,
                          MPI_STATUSES_IGNORE),
              op_.c_str());
    if (flag) finish();
    return finished_;
  }
  void wait() override {
    if (finished_) return;
    wd_.wait([this] { return test(); }, op_, group_, label_);
  }

  std::vector<MPI_Request> reqs_;
  Staged staged_;
  double divide_by_ = 0;  // > 0: avg

 private:
  void finish() {
    finished_ = true;
    if (divide_by_ > 0) staged_.buf.div_(divide_by_);
    if (staged_.copy_back) staged_.user.copy_(staged_.buf);
  }
  const Watchdog& wd_;
  std::string op_, group_, label_;
  bool finished_ = false;
};

class MpiCollectives : public Collectives {
 public:
  MpiCollectives(MPI_Comm comm, std::string group, WatchdogOptions wo, int world_rank)
      : comm_(comm), group_(std::move(group)), wd_(wo, world_rank) {
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    // Errors come back as codes (turned into messages) instead of aborting
    // silently inside MPI.
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  std::string group() const override { return group_; }

  void all_reduce(at::Tensor& t, ReduceOp op, std::string_view label) override {
    all_reduce_async(t, op, label)->wait();
  }

  std::unique_ptr<Work> all_reduce_async(const at::Tensor& t, ReduceOp op,
                                         std::string_view label) override {
    check_reducible(t, op, "all_reduce");
    auto w = make_work("all_reduce", label);
    w->staged_ = stage(t, /*for_reduce=*/true);
    if (op == ReduceOp::kAvg) w->divide_by_ = size_;
    at::Tensor& buf = w->staged_.buf;
    const MPI_Datatype type = mpi_type(buf.scalar_type());
    chunked(buf.numel(), buf.element_size(), [&](int64_t off, int n, int64_t) {
      MPI_Request r;
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, byte_ptr(buf) + off * buf.element_size(), n, type,
                               mpi_op(op), comm_, &r),
                "MPI_Iallreduce");
      w->reqs_.push_back(r);
    });
    return w;
  }

  void broadcast(at::Tensor& t, int root, std::string_view label) override {
    check_cpu(t, "broadcast");
    PGENRM_CHECK(root >= 0 && root < size_,
                 "broadcast root " + std::to_string(root) + " outside group '" + group_ + "'",
                 "roots are ranks of the group, 0.." + std::to_string(size_ - 1));
    auto w = make_work("broadcast", label);
    w->staged_ = stage(t, /*for_reduce=*/false);
    at::Tensor& buf = w->staged_.buf;
    const MPI_Datatype type = mpi_type(buf.scalar_type());
    chunked(buf.numel(), buf.element_size(), [&](int64_t off, int n, int64_t) {
      MPI_Request r;
      check_mpi(MPI_Ibcast(byte_ptr(buf) + off * buf.element_size(), n, type, root, comm_, &r),
                "MPI_Ibcast");
      w->reqs_.push_back(r);
    });
    w->wait();
  }

  at::Tensor all_gather(const at::Tensor& t, std::string_view label) override {
    check_cpu(t, "all_gather");
    const at::Tensor in = (t.dim() == 0 ? t.reshape({1}) : t).contiguous();
    std::vector<int64_t> shape = in.sizes().vec();
    shape[0] *= size_;
    at::Tensor out = at::empty(shape, in.options());
    PGENRM_CHECK(in.numel() <= INT_MAX, "all_gather of more than INT_MAX elements per rank",
                 "gather in pieces");
    auto w = make_work("all_gather", label);
    const MPI_Datatype type = mpi_type(in.scalar_type());
    MPI_Request r;
    check_mpi(MPI_Iallgather(in.data_ptr(), static_cast<int>(in.numel()), type, out.data_ptr(),
                             static_cast<int>(in.numel()), type, comm_, &r),
              "MPI_Iallgather");
    w->reqs_.push_back(r);
    w->staged_ = Staged{in, in, false};  // keeps `in` alive until done
    w->wait();
    return out;
  }

  at::Tensor reduce_scatter(const at::Tensor& t, ReduceOp op, std::string_view label) override {
    check_reducible(t, op, "reduce_scatter");
    PGENRM_CHECK(t.dim() >= 1 && t.size(0) % size_ == 0,
                 "reduce_scatter of shape " + c10::str(t.sizes()) + " over " +
                     std::to_string(size_) + " ranks",
                 "dim 0 must be divisible by the group size");
    const at::Tensor in = is_half(t.scalar_type()) ? t.to(at::kFloat).contiguous() : t.contiguous();
    std::vector<int64_t> shape = in.sizes().vec();
    shape[0] /= size_;
    at::Tensor out = at::empty(shape, in.options());
    PGENRM_CHECK(out.numel() <= INT_MAX, "reduce_scatter of more than INT_MAX elements per rank",
                 "scatter in pieces");
    auto w = make_work("reduce_scatter", label);
    MPI_Request r;
    check_mpi(MPI_Ireduce_scatter_block(in.data_ptr(), out.data_ptr(),
                                        static_cast<int>(out.numel()), mpi_type(in.scalar_type()),
                                        mpi_op(op), comm_, &r),
              "MPI_Ireduce_scatter_block");
    w->reqs_.push_back(r);
    w->staged_ = Staged{in, out, false};
    if (op == ReduceOp::kAvg) w->divide_by_ = size_;
    w->wait();
    return out.scalar_type() == t.scalar_type() ? out : out.to(t.scalar_type());
  }

  void barrier(std::string_view label) override {
    auto w = make_work("barrier", label);
    MPI_Request r;
    check_mpi(MPI_Ibarrier(comm_, &r), "MPI_Ibarrier");
    w->reqs_.push_back(r);
    w->wait();
  }

 private:
  std::unique_ptr<MpiWork> make_work(const char* op, std::string_view label) {
    return std::make_unique<MpiWork>(wd_, op, group_, std::string(label));
  }
  static char* byte_ptr(const at::Tensor& t) { return static_cast<char*>(t.data_ptr()); }

  // Calls f(offset, count, chunk) for pieces of at most INT_MAX elements
  // (MPI counts are int); an empty tensor is one empty piece.
  template <class F>
  static void chunked(int64_t numel, int64_t, F&& f) {
    if (numel == 0) return f(0, 0, 0);
    int64_t chunk = 0;
    for (int64_t off = 0; off < numel; off += INT_MAX, ++chunk)
      f(off, static_cast<int>(std::min<int64_t>(INT_MAX, numel - off)), chunk);
  }

  void check_cpu(const at::Tensor& t, const char* op) const {
    PGENRM_CHECK(t.defined(), std::string(op) + " of an undefined tensor", "pass a defined tensor");
    PGENRM_CHECK(t.device().is_cpu(),
                 std::string(op) + " of a " + t.device().str() + " tensor on the MPI backend",
                 "CUDA tensors go through the NCCL backend (a PGENRM_CUDA build)");
  }
  void check_reducible(const at::Tensor& t, ReduceOp op, const char* what) const {
    check_cpu(t, what);
    PGENRM_CHECK(t.scalar_type() != at::kBool, std::string(what) + " of a bool tensor",
                 "convert to uint8 or int64 first");
    PGENRM_CHECK(op != ReduceOp::kAvg || at::isFloatingType(t.scalar_type()),
                 "avg " + std::string(what) + " of an integer tensor",
                 "reduce with sum and divide where the rounding is yours to choose");
  }

  MPI_Comm comm_;
  std::string group_;
  Watchdog wd_;
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Collectives> make_mpi_collectives(MPI_Comm comm, std::string group,
                                                  WatchdogOptions watchdog, int world_rank) {
  return std::make_unique<MpiCollectives>(comm, std::move(group), watchdog, world_rank);
}

}  // namespace pgenrm::comm
