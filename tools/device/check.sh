#!/usr/bin/env bash
# Run ON THE DEVICE MACHINE (device tool, `carry: [".device"]`), in the
# repository root, after tools/device/prepare.sh ran here. Unpacks the
# carried Debian packages, configures and builds the CUDA configuration with
# tests against the machine's own PyTorch (python3), and runs the checks of
# issue 10; everything it prints also goes to $OUT/check.log.
#   1. unit tests that need CUDA (tests/model/test_cuda.cpp) + the CPU suite
#      that runs in seconds (model, chain, trainer unit tests)
#   2. a single-rank NCCL all-reduce and broadcast through comm/
#   3. logits parity vs transformers (llama, qwen2, qwen3) on the GPU, fp32
#      and bf16 (tests/model/test_hf_parity.cpp, OnCuda…)
#   4. training throughput and MFU of a ~0.5B config (Qwen2.5-0.5B's shape)
#      in bf16 with fp32 masters (bench_train_gpu) against the same config in
#      PyTorch eager (tools/device/ref_train_eager.py: bf16 and AMP), same run
# DRY_RUN=1: configure against the unpacked packages and stop (what this
# project's CPU machines can check).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/pgenrm-device-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/check.log") 2>&1
deps=${DEPS:-/tmp/pgenrm-deps}
arch=x86_64-linux-gnu
t0=$(date +%s)
step() { echo "== $(( $(date +%s) - t0 )) s: $*"; }

step "unpacking $(ls .device/debs/*.deb | wc -l) packages into $deps"
mkdir -p "$deps"
for f in .device/debs/*.deb; do dpkg -x "$f" "$deps"; done
lib=$deps/usr/lib/$arch
export LD_LIBRARY_PATH=$lib:$lib/openmpi/lib:$lib/hdf5/serial${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OPAL_PREFIX=$deps/usr PATH=$deps/usr/bin:$PATH
# pkg-config (PCRE2): the carried .pc files say prefix=/usr; the sysroot maps it.
export PKG_CONFIG_PATH=$lib/pkgconfig:$deps/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$deps
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE

step "configure (CUDA ON, tests ON, python3's torch)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "(no nvidia-smi)"
"${PYTHON:-python3}" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'devices', torch.cuda.device_count())"
cmake -S . -B build-device -G Ninja -DPGENRM_CUDA=ON -DPGENRM_TESTS=ON \
  -DPGENRM_PYTHON="$(command -v "${PYTHON:-python3}")" \
  -DCMAKE_CUDA_COMPILER="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}" \
  -DCMAKE_PREFIX_PATH="$deps/usr;$lib/cmake" \
  -DCMAKE_INCLUDE_PATH="$deps/usr/include" -DCMAKE_LIBRARY_PATH="$lib" \
  -DMPI_CXX_COMPILER="$deps/usr/bin/mpicxx.openmpi" -DMPIEXEC_EXECUTABLE="$deps/usr/bin/mpirun.openmpi" \
  -DHDF5_C_COMPILER_EXECUTABLE="$deps/usr/bin/h5cc" \
  -DHDF5_INCLUDE_DIRS="$deps/usr/include/hdf5/serial" \
  -DHDF5_C_LIBRARY_hdf5="$lib/hdf5/serial/libhdf5.so" \
  -DBoost_INCLUDE_DIR="$deps/usr/include" > "$OUT/configure.log" 2>&1 \
  || { tail -40 "$OUT/configure.log"; exit 1; }
grep -E "libtorch|CUDA paths" "$OUT/configure.log"
[ "${DRY_RUN:-0}" = 1 ] && { step "dry run: configured"; exit 0; }

step "build"
cmake --build build-device -j "$(nproc)" --target pgenrm test_model_cuda test_comm_mpi test_model_transformer \
  test_model_hf_parity test_trainer bench_train_gpu > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }

step "1. CUDA unit tests"
build-device/tests/test_model_cuda 2>&1 | tail -15
build-device/tests/test_model_transformer --gtest_brief=1 2>&1 | tail -3
build-device/tests/trainer/test_trainer --gtest_brief=1 --gtest_filter='-HistoryFlipCheckpoint.*' 2>&1 | tail -3

step "2. NCCL through comm/ (one rank)"
"$deps/usr/bin/mpirun.openmpi" --oversubscribe -np 1 build-device/tests/comm/test_comm_mpi \
  --gtest_filter='Collectives.*' 2>&1 | grep -E "NCCL|OK|FAILED|Failure|SKIPPED|Expected|Actual" 

step "3. logits parity with transformers on the GPU"
build-device/tests/test_model_hf_parity --gtest_filter='*OnCuda*' 2>&1 | grep -E "CUDA|OK|FAILED|Failure|Expected|Which"

step "4. 0.5B bf16 training throughput: ours vs PyTorch eager"
build-device/bin/bench_train_gpu --device cuda --size 0.5b --batch 8 --seq 1024 --steps 10 \
  --config-out "$OUT/qwen0.5b" | tee "$OUT/train_ours.json"
"${PYTHON:-python3}" tools/device/ref_train_eager.py "$OUT/qwen0.5b" --device cuda --batch 8 --seq 1024 \
  --steps 10 | tee "$OUT/train_eager.json"

step "done"
