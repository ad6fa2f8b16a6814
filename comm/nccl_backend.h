// The NCCL backend of Collectives: CUDA tensors, one NCCL communicator per
// MPI communicator, the unique id created by rank 0 and shared over MPI.
//
// What it does: runs ncclAllReduce / ncclBroadcast / ncclAllGather /
// ncclReduceScatter on a stream of its own, ordered after libtorch's current
// stream by events and back; waits by polling an event and
// ncclCommGetAsyncError under the watchdog, and aborts the NCCL communicator
// before the job on a hang.
// What it deliberately doesn't: handle CPU tensors (the MPI backend does).
// The implementation (nccl_backend.cpp) is compiled only when PGENRM_CUDA is
// ON; otherwise nccl_stub.cpp provides these functions, reporting that the
// build has no NCCL. This header itself compiles in both configurations.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "comm/collectives.h"

namespace pgenrm::comm {

// Whether this build has the NCCL backend.
bool nccl_available();

// Collective over `comm`: every rank of it must call this together. Each
// rank uses CUDA device `device`.
std::unique_ptr<Collectives> make_nccl_collectives(MPI_Comm comm, std::string group,
                                                   WatchdogOptions watchdog, int world_rank,
                                                   int device);

}  // namespace pgenrm::comm
