// NCCL backend (PGENRM_CUDA builds only; see nccl_backend.h).
#include "comm/nccl_backend.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <vector>

#include "comm/mpi_backend.h"
#include "comm/watchdog.h"
#include "core/error.h"

namespace pgenrm::comm {

namespace {

void check_cuda(cudaError_t rc, const char* call) {
  if (rc != cudaSuccess)
    throw Error(std::string(call) + " failed: " + cudaGetErrorString(rc),
                "check that every rank sees its GPU (CUDA_VISIBLE_DEVICES) and the driver works");
}

void check_nccl(ncclResult_t rc, const char* call) {
  if (rc != ncclSuccess && rc != ncclInProgress)
    throw Error(std::string(call) + " failed: " + ncclGetErrorString(rc),
                "NCCL_DEBUG=INFO shows why; every rank must call the same collectives in order");
}

ncclDataType_t nccl_type(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    case at::kChar: return ncclInt8;
    case at::kByte:
    case at::kBool: return ncclUint8;
    default:
      throw Error(std::string("no NCCL type for dtype ") + c10::toString(s),
                  "use a float or integer dtype");
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kAvg: return ncclAvg;
    case ReduceOp::kMax: return ncclMax;
    case ReduceOp::kMin: return ncclMin;
  }
  return ncclSum;
}

// A collective enqueued on the backend's stream; done when its event is.
class NcclWork : public Work {
 public:
  NcclWork(const Watchdog& wd, ncclComm_t comm, cudaEvent_t ev, std::string op,
           std::string group, std::string label, at::Tensor user, at::Tensor buf)
      : wd_(wd), comm_(comm), ev_(ev), op_(std::move(op)), group_(std::move(group)),
        label_(std::move(label)), user_(std::move(user)), buf_(std::move(buf)) {}
  ~NcclWork() override {
    try {
      wait();
    } catch (...) {
    }
    cudaEventDestroy(ev_);
  }
  bool test() override {
    if (done_) return true;
    ncclResult_t async_rc = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(comm_, &async_rc), "ncclCommGetAsyncError");
    check_nccl(async_rc, op_.c_str());
    const cudaError_t q = cudaEventQuery(ev_);
    if (q == cudaErrorNotReady) return false;
    check_cuda(q, "cudaEventQuery");
    done_ = true;
    // Stream order already puts the copy after the collective; the caller's
    // stream waits on our event, so no host sync is needed here.
    if (!user_.is_same(buf_)) user_.copy_(buf_);
    return true;
  }
  void wait() override {
    if (done_) return;
    // Aborting the communicator first releases the kernels stuck in it, so
    // the process can exit instead of hanging in the driver.
    wd_.wait([this] { return test(); }, op_, group_, label_, [this] { ncclCommAbort(comm_); });
  }

 private:
  const Watchdog& wd_;
  ncclComm_t comm_;
  cudaEvent_t ev_;
  std::string op_, group_, label_;
  at::Tensor user_, buf_;
  bool done_ = false;
};

class NcclCollectives : public Collectives {
 public:
  NcclCollectives(MPI_Comm comm, std::string group, WatchdogOptions wo, int world_rank, int device)
      : group_(std::move(group)), wd_(wo, world_rank), device_(device) {
    check_mpi(MPI_Comm_rank(comm, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm, &size_), "MPI_Comm_size");
    ncclUniqueId id;
    if (rank_ == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
    check_mpi(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, comm), "MPI_Bcast(nccl unique id)");
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    check_nccl(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~NcclCollectives() override {
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  std::string group() const override { return group_; }

  void all_reduce(at::Tensor& t, ReduceOp op, std::string_view label) override {
    all_reduce_async(t, op, label)->wait();
  }
  std::unique_ptr<Work> all_reduce_async(const at::Tensor& t, ReduceOp op,
                                         std::string_view label) override {
    check_cuda_tensor(t, "all_reduce");
    at::Tensor buf = t.contiguous();
    return enqueue("all_reduce", label, t, buf, [&] {
      check_nccl(ncclAllReduce(buf.data_ptr(), buf.data_ptr(), buf.numel(),
                               nccl_type(buf.scalar_type()), nccl_op(op), comm_, stream_),
                 "ncclAllReduce");
    });
  }
  void broadcast(at::Tensor& t, int root, std::string_view label) override {
    check_cuda_tensor(t, "broadcast");
    at::Tensor buf = t.contiguous();
    enqueue("broadcast", label, t, buf, [&] {
      check_nccl(ncclBroadcast(buf.data_ptr(), buf.data_ptr(), buf.numel(),
                               nccl_type(buf.scalar_type()), root, comm_, stream_),
                 "ncclBroadcast");
    })->wait();
  }
  at::Tensor all_gather(const at::Tensor& t, std::string_view label) override {
    check_cuda_tensor(t, "all_gather");
    const at::Tensor in = (t.dim() == 0 ? t.reshape({1}) : t).contiguous();
    std::vector<int64_t> shape = in.sizes().vec();
    shape[0] *= size_;
    at::Tensor out = at::empty(shape, in.options());
    enqueue("all_gather", label, out, out, [&] {
      check_nccl(ncclAllGather(in.data_ptr(), out.data_ptr(), in.numel(),
                               nccl_type(in.scalar_type()), comm_, stream_),
                 "ncclAllGather");
    })->wait();
    return out;
  }
  at::Tensor reduce_scatter(const at::Tensor& t, ReduceOp op, std::string_view label) override {
    check_cuda_tensor(t, "reduce_scatter");
    PGENRM_CHECK(t.dim() >= 1 && t.size(0) % size_ == 0,
                 "reduce_scatter of shape " + c10::str(t.sizes()) + " over " +
                     std::to_string(size_) + " ranks",
                 "dim 0 must be divisible by the group size");
    const at::Tensor in = t.contiguous();
    std::vector<int64_t> shape = in.sizes().vec();
    shape[0] /= size_;
    at::Tensor out = at::empty(shape, in.options());
    enqueue("reduce_scatter", label, out, out, [&] {
      check_nccl(ncclReduceScatter(in.data_ptr(), out.data_ptr(), out.numel(),
                                   nccl_type(in.scalar_type()), nccl_op(op), comm_, stream_),
                 "ncclReduceScatter");
    })->wait();
    return out;
  }
  void barrier(std::string_view label) override {
    at::Tensor one = at::ones({1}, at::TensorOptions().dtype(at::kFloat).device(at::kCUDA, device_));
    all_reduce(one, ReduceOp::kSum, label.empty() ? std::string_view("barrier") : label);
  }

 private:
  // Orders `launch` (on our stream) after the work already queued on
  // libtorch's current stream, and libtorch's stream after it.
  template <class F>
  std::unique_ptr<Work> enqueue(const char* op, std::string_view label, const at::Tensor& user,
                                const at::Tensor& buf, F&& launch) {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    cudaStream_t torch_stream = c10::cuda::getCurrentCUDAStream(device_).stream();
    cudaEvent_t ready, done;
    check_cuda(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreate");
    check_cuda(cudaEventRecord(ready, torch_stream), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(stream_, ready, 0), "cudaStreamWaitEvent");
    cudaEventDestroy(ready);
    launch();
    check_cuda(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
    check_cuda(cudaEventRecord(done, stream_), "cudaEventRecord");
    check_cuda(cudaStreamWaitEvent(torch_stream, done, 0), "cudaStreamWaitEvent");
    return std::make_unique<NcclWork>(wd_, comm_, done, op, group_, std::string(label), user, buf);
  }
  void check_cuda_tensor(const at::Tensor& t, const char* op) const {
    PGENRM_CHECK(t.defined() && t.is_cuda(), std::string(op) + " of a non-CUDA tensor on NCCL",
                 "CPU tensors go through the MPI backend");
    PGENRM_CHECK(t.device().index() == device_,
                 std::string(op) + " of a tensor on " + t.device().str() + ", communicator on cuda:" +
                     std::to_string(device_),
                 "keep each rank's tensors on its own device");
  }

  std::string group_;
  Watchdog wd_;
  int device_;
  int rank_ = 0, size_ = 1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

bool nccl_available() { return true; }

std::unique_ptr<Collectives> make_nccl_collectives(MPI_Comm comm, std::string group,
                                                   WatchdogOptions watchdog, int world_rank,
                                                   int device) {
  return std::make_unique<NcclCollectives>(comm, std::move(group), watchdog, world_rank, device);
}

}  // namespace pgenrm::comm
