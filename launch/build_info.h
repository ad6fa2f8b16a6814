// What this binary was built with and what it finds at run time: version,
// libtorch, CUDA/NCCL when compiled with PGENRM_CUDA, visible GPUs.
#pragma once

#include <string>

namespace pgenrm::launch {

std::string build_info();

}  // namespace pgenrm::launch
