#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with network), in the repository root:
# downloads the Debian packages the device machine lacks (it has CUDA 13,
# nvcc, CMake, ninja, python3 with torch 2.11 + transformers + h5py, but no
# yaml-cpp, HDF5, Boost, Open MPI, spdlog/fmt, CLI11, nlohmann-json, PCRE2
# headers or GoogleTest) into .device/debs/, which tools/device/check.sh
# unpacks there with `dpkg -x`. The folder travels with the device tool's
# `carry: [".device"]` (64 MiB limit, checked below) and is ignored by git
# (.git/info/exclude).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=.device/debs
mkdir -p "$dest"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
pkgs=(
  # config, JSON, logging, CLI
  libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libfmt-dev libfmt9 libspdlog-dev libspdlog1.10 libcli11-dev
  # MPI (Open MPI 4.1 and what its libraries load)
  libopenmpi-dev libopenmpi3 openmpi-bin openmpi-common libpmix2 libhwloc15 libevent-core-2.1-7
  libevent-pthreads-2.1-7 libfabric1 libucx0 libpsm2-2 libpsm-infinipath1 libibverbs1 librdmacm1
  libnl-3-200 libnl-route-3-200 libmunge2
  # HDF5 (serial) and its codecs
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0
  # Boost (Asio and Beast are header-only)
  libboost1.74-dev
  # PCRE2 (tokenizer pre-tokenisation)
  libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
  # tests
  libgtest-dev libgmock-dev googletest
)
(cd "$dest" && apt-get download "${pkgs[@]}" >/dev/null)
size=$(du -sm "$dest" | cut -f1)
echo "prepare: ${#pkgs[@]} packages, ${size} MiB in $dest"
[ "$size" -le 56 ] || { echo "prepare: over the device tool's carry budget (keep the whole tree under 64 MiB)"; exit 1; }
