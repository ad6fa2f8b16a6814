// The NCCL backend's entry points in a build without CUDA (PGENRM_CUDA OFF):
// they say so, with the flag that changes it. Replaced by nccl_backend.cpp.
#include "comm/nccl_backend.h"

#include "core/error.h"

namespace pgenrm::comm {

bool nccl_available() { return false; }

std::unique_ptr<Collectives> make_nccl_collectives(MPI_Comm, std::string, WatchdogOptions, int,
                                                   int) {
  throw Error("a collective on CUDA tensors, but this build has no NCCL backend",
              "configure with -DPGENRM_CUDA=ON (`make build-cuda`), or keep the tensors on CPU");
}

}  // namespace pgenrm::comm
