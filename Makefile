# Two commands for a newcomer: `make demo` and `make test`. Both set up what
# is missing (tools/setup.sh), build, and run. A second run rebuilds nothing
# that is current. BUILD_JOBS defaults to the core count.
SHELL        := /bin/bash
.SHELLFLAGS  := -o pipefail -c
PGENRM_VENV  ?= $(HOME)/.cache/pgenrm/venv
BUILD_DIR    ?= build
CUDA_DIR     ?= build-cuda
BUILD_JOBS   ?= $(shell nproc)
CMAKE_FLAGS  ?=
export PGENRM_VENV
# libgomp/MKL threads spin between ops by default; passive waits are faster
# on small CPU machines (measured in docs/PERFORMANCE.md).
export OMP_WAIT_POLICY ?= PASSIVE
# ccache keyed on paths relative to the checkout: a fresh clone elsewhere
# (CI) and the CUDA build reuse the objects already compiled. The
# include_file_mtime/ctime sloppiness (needed: every file of a fresh clone is
# "too new" for ccache otherwise) has a price: a header edited *while* a
# build compiles it can leave an object built from the old header cached
# under the new one. Do not edit sources during a build; if you did and a
# binary misbehaves, `ccache -C` and rebuild.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: all setup build build-cuda test demo demo-long check-long bench clean

all: build

setup:
	@bash tools/setup.sh

$(BUILD_DIR)/build.ninja:
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DPGENRM_PYTHON=$(PGENRM_VENV)/bin/python $(CMAKE_FLAGS) >/dev/null

build: setup $(BUILD_DIR)/build.ninja
	@cmake --build $(BUILD_DIR) -j $(BUILD_JOBS)
	@test -x $(BUILD_DIR)/bin/pgenrm

# The CUDA configuration: compiles and links every CUDA path (nvcc + NCCL
# must be present), so CUDA-only code cannot rot on CPU machines.
$(CUDA_DIR)/build.ninja:
	@cmake -S . -B $(CUDA_DIR) -G Ninja -DPGENRM_CUDA=ON -DPGENRM_TESTS=OFF \
	  -DCMAKE_CUDA_COMPILER=$${CUDACXX:-/usr/local/cuda/bin/nvcc} \
	  -DPGENRM_PYTHON=$(PGENRM_VENV)/bin/python $(CMAKE_FLAGS) >/dev/null

build-cuda: setup $(CUDA_DIR)/build.ninja
	@cmake --build $(CUDA_DIR) -j $(BUILD_JOBS)
	@test -x $(CUDA_DIR)/bin/pgenrm

test: build
	@if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null; then \
	  $(MAKE) --no-print-directory build-cuda; \
	else echo "test: no nvcc on this machine; CUDA build skipped"; fi
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(BUILD_JOBS) --label-exclude long

check-long: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -L long

bench: build
	@$(BUILD_DIR)/bin/bench_model
	@$(BUILD_DIR)/bin/bench_checkpoint
	@# needs the demo world and model (make demo); says so and is skipped otherwise
	-@$(BUILD_DIR)/bin/bench_scaling
	@$(BUILD_DIR)/bin/bench_scaling_sizes
	@$(BUILD_DIR)/bin/bench_data_load

demo: build
	@bash tools/demo.sh $(BUILD_DIR)/bin/pgenrm

# The longer recipe: twice the demo's PSI chains, 30 + 30 GRPO steps (~25 min on 2 cores; docs/RESULTS.md "More PSI").
demo-long: build
	@PGENRM_DEMO_CONFIG=configs/demo_long.yaml bash tools/demo.sh $(BUILD_DIR)/bin/pgenrm

clean:
	rm -rf $(BUILD_DIR) $(CUDA_DIR)
