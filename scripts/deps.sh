#!/usr/bin/env bash
# Installs the Debian packages xtrain needs for the given purposes, only those missing.
#   bash scripts/deps.sh build test demo ci docs compare
# build: compiler, CMake, Ninja, xtensor, xtensor-blas, nlohmann-json, OpenBLAS, zlib, CLI11 (the
#        examples' command lines), libxsmm (optional for xtrain, found by CMake: small-batch weight
#        gradients; installed so that a new machine builds what docs/performance.md measured)
# test:  Catch2, Google Benchmark, the Fashion-MNIST package (real-data tests and smoke runs),
#        gnuplot (the figure-rendering test), Open MPI (the data-parallel tests and examples)
# demo:  gnuplot (figures), the Fashion-MNIST package
# ci:    clang 14 with its sanitizer and libFuzzer runtimes
# docs:  Doxygen
# compare: PyTorch (python3-torch), for the comparison scripts only
set -euo pipefail

declare -A groups=(
  [build]="g++ cmake ninja-build ccache libxtensor-dev libxtensor-blas-dev libxsimd-dev nlohmann-json3-dev libopenblas-dev zlib1g-dev libcli11-dev libxsmm-dev"
  [test]="catch2 libbenchmark-dev dataset-fashion-mnist gnuplot-nox libopenmpi-dev openmpi-bin"
  [demo]="gnuplot-nox dataset-fashion-mnist"
  [ci]="clang-14 libclang-rt-14-dev"
  [docs]="doxygen"
  [compare]="python3-torch python3-numpy"
)

want=()
for g in "$@"; do
  [[ -n "${groups[$g]+x}" ]] || { echo "deps.sh: unknown group '$g' (known: ${!groups[*]})" >&2; exit 2; }
  # shellcheck disable=SC2206
  want+=(${groups[$g]})
done
# libxsmm exists for x86-64 only, and xtrain builds without it.
if [[ "$(dpkg --print-architecture 2>/dev/null || echo unknown)" != amd64 ]]; then
  for i in "${!want[@]}"; do
    [[ "${want[$i]}" != libxsmm-dev ]] || unset 'want[i]'
  done
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# De-duplicate while keeping order.
if [[ ${#missing[@]} -gt 0 ]]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps.sh: these packages are missing and this is not a Debian system: ${missing[*]}" >&2
  echo "deps.sh: install their equivalents, then run again." >&2
  exit 1
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "deps.sh: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done"
