# Third-party dependencies. Why each one: docs/DEPENDENCIES.md.

# --- libtorch from the PyPI torch wheel --------------------------------------
# We do not call find_package(Torch): the wheel is a CUDA build, and its
# TorchConfig insists on a CUDA toolkit even for CPU-only use. We read the
# wheel's location and ABI from its own Python instead and build the target.
if(NOT PGENRM_PYTHON)
  if(DEFINED ENV{PGENRM_VENV})
    set(PGENRM_PYTHON "$ENV{PGENRM_VENV}/bin/python")
  else()
    set(PGENRM_PYTHON "$ENV{HOME}/.cache/pgenrm/venv/bin/python")
  endif()
endif()
execute_process(
  COMMAND "${PGENRM_PYTHON}" -c
    "import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.__version__)"
  OUTPUT_VARIABLE _torch_info OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE _torch_rc ERROR_QUIET)
if(NOT _torch_rc EQUAL 0)
  message(FATAL_ERROR "Cannot import torch with '${PGENRM_PYTHON}'. "
    "Run `make setup` (tools/setup.sh) to create the venv, or pass "
    "-DPGENRM_PYTHON=/path/to/venv/bin/python.")
endif()
string(REPLACE "\n" ";" _torch_info "${_torch_info}")
list(GET _torch_info 0 PGENRM_TORCH_DIR)
list(GET _torch_info 1 PGENRM_TORCH_ABI)
list(GET _torch_info 2 PGENRM_TORCH_VERSION)
message(STATUS "libtorch ${PGENRM_TORCH_VERSION} from ${PGENRM_TORCH_DIR}")

add_library(pgenrm_torch INTERFACE)
target_include_directories(pgenrm_torch SYSTEM INTERFACE
  "${PGENRM_TORCH_DIR}/include"
  "${PGENRM_TORCH_DIR}/include/torch/csrc/api/include")
target_compile_definitions(pgenrm_torch INTERFACE
  _GLIBCXX_USE_CXX11_ABI=${PGENRM_TORCH_ABI})
target_link_libraries(pgenrm_torch INTERFACE
  "${PGENRM_TORCH_DIR}/lib/libtorch_cpu.so"
  "${PGENRM_TORCH_DIR}/lib/libc10.so")
set_property(TARGET pgenrm_torch APPEND PROPERTY
  INTERFACE_LINK_OPTIONS "-Wl,-rpath,${PGENRM_TORCH_DIR}/lib")

# CUDA-specific code links pgenrm_cuda (defines PGENRM_CUDA, CUDA runtime,
# NCCL, libtorch_cuda). Everything else compiles identically in both
# configurations, so ccache serves the second build from the first.
add_library(pgenrm_cuda INTERFACE)
if(PGENRM_CUDA)
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  # NCCL must be the one libtorch_cuda was built against: the wheel's
  # `nvidia-nccl-cu13` beside torch first (the toolkit's may be older and lack
  # symbols libtorch_cuda needs), the CUDA toolkit's otherwise.
  get_filename_component(_site "${PGENRM_TORCH_DIR}/.." ABSOLUTE)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS "${_site}/nvidia/nccl/include" NO_DEFAULT_PATH)
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS "${_site}/nvidia/nccl/lib" NO_DEFAULT_PATH)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} REQUIRED)
  find_library(NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${CUDAToolkit_LIBRARY_DIR} REQUIRED)
  message(STATUS "CUDA paths ON: CUDA ${CUDAToolkit_VERSION}, NCCL ${NCCL_LIBRARY}")
  target_compile_definitions(pgenrm_cuda INTERFACE PGENRM_CUDA=1)
  target_include_directories(pgenrm_cuda SYSTEM INTERFACE ${NCCL_INCLUDE_DIR} ${CUDAToolkit_INCLUDE_DIRS})
  # --no-as-needed: nothing of ours names a libtorch_cuda symbol, but loading
  # it is what registers the CUDA backend with the dispatcher.
  target_link_libraries(pgenrm_cuda INTERFACE
    "-Wl,--no-as-needed"
    "${PGENRM_TORCH_DIR}/lib/libtorch_cuda.so"
    "${PGENRM_TORCH_DIR}/lib/libc10_cuda.so"
    "-Wl,--as-needed"
    CUDA::cudart ${NCCL_LIBRARY})
endif()

# --- Debian packages ----------------------------------------------------------
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(MPI REQUIRED COMPONENTS CXX)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(Boost 1.74 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
if(PGENRM_TESTS)
  find_package(GTest REQUIRED)
endif()
