// The MPI backend of Collectives: CPU tensors over an MPI communicator.
//
// What it does: maps dtypes to MPI types (fp32, fp64, int8..int64, uint8,
// bool as bytes), stages non-contiguous tensors, reduces bf16/fp16 by
// upcasting to fp32 (MPI has no 16-bit float types; sums of bf16 in bf16
// would also lose more than the reduction is worth), and moves bytes as
// they are for broadcast/all_gather. Every call is a non-blocking MPI
// collective (MPI_Iallreduce, ...) waited on under the watchdog, and counts
// beyond INT_MAX are split into several requests.
// What it deliberately doesn't: touch CUDA tensors (the NCCL backend does),
// create or free the communicator it is given unless told it owns it.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>

#include "comm/collectives.h"

namespace pgenrm::comm {

std::unique_ptr<Collectives> make_mpi_collectives(MPI_Comm comm, std::string group,
                                                  WatchdogOptions watchdog, int world_rank);

// Throws pgenrm::Error with MPI's own text when rc != MPI_SUCCESS.
void check_mpi(int rc, const char* call);

}  // namespace pgenrm::comm
