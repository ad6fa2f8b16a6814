#include "launch/build_info.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <string>

#ifdef PGENRM_CUDA
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace pgenrm::launch {

std::string build_info() {
  std::string s = "pgenrm 0.1.0\nlibtorch " + std::string(TORCH_VERSION) + "\nCPU threads " +
                  std::to_string(at::get_num_threads()) + "\n";
#ifdef PGENRM_CUDA
  int runtime = 0, devices = 0, nccl = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaError_t err = cudaGetDeviceCount(&devices);
  ncclGetVersion(&nccl);
  s += "CUDA paths: on (runtime " + std::to_string(runtime / 1000) + "." +
       std::to_string((runtime % 1000) / 10) + ", NCCL " + std::to_string(nccl) + ")\n";
  s += err == cudaSuccess ? "GPUs visible: " + std::to_string(devices) + "\n"
                          : std::string("GPUs visible: none (") + cudaGetErrorString(err) + ")\n";
#else
  s += "CUDA paths: off (configure with -DPGENRM_CUDA=ON)\n";
#endif
  return s;
}

}  // namespace pgenrm::launch
