#!/usr/bin/env bash
# Installs what the build, the demo and the tests need, when missing:
#   - Debian packages (compiler libraries, MPI, HDF5, yaml-cpp, Boost, ...)
#   - a Python venv OUTSIDE the clone with the torch wheel (libtorch) and the
#     test-only reference packages (transformers, tokenizers, safetensors, h5py)
# Idempotent and quiet: when everything is present it does nothing and
# prints nothing. The venv is at $PGENRM_VENV (default ~/.cache/pgenrm/venv)
# so every checkout of the project, CI's fresh clone included, reuses it.
set -euo pipefail

VENV="${PGENRM_VENV:-$HOME/.cache/pgenrm/venv}"
DEBS=(build-essential cmake ninja-build ccache pkg-config python3-venv
      libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools libyaml-cpp-dev
      libboost-dev googletest libgtest-dev nlohmann-json3-dev libpcre2-dev
      libcli11-dev libfmt-dev libspdlog-dev clang libclang-rt-14-dev)
# torch pinned to a major.minor so a fresh machine gets the libtorch this
# code was built against; the reference packages are for tests only.
PY_PKGS=("torch>=2.11,<2.16" "numpy" "transformers>=4.50" "tokenizers>=0.20"
         "safetensors" "h5py" "trl")

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

stamp="$VENV/.pgenrm-setup"
want="$(printf '%s\n' "${PY_PKGS[@]}")"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: preparing the Python venv at $VENV (torch wheel ~3.5 GB with its CUDA libraries)"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PKGS[@]}"
  printf '%s' "$want" > "$stamp"
fi
