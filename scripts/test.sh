#!/usr/bin/env bash
# Installs what is missing, builds xtrain's tests, examples and benchmarks, and runs every test.
#   bash scripts/test.sh                      # the Quick start's second command (build/release)
#   bash scripts/test.sh --sanitize           # address + undefined-behaviour sanitizers (build/asan)
#   bash scripts/test.sh --compiler clang++-14 --build-dir build/clang
# Exits non-zero if anything fails to build or any test fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

build=""
sanitize=0
cxx=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --sanitize) sanitize=1 ;;
    --build-dir) build=$2; shift ;;
    --compiler) cxx=$2; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

groups=(build test)
[[ -n "$cxx" && "$cxx" == clang* ]] && groups+=(ci)
bash scripts/deps.sh "${groups[@]}"

extra=()
if [[ $sanitize -eq 1 ]]; then
  build=${build:-build/asan}
  flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  # Packaging and header checks do not exercise run-time behaviour; skip them here.
  extra+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_CXX_FLAGS=$flags"
          "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
          -DXTRAIN_PACKAGING_TESTS=OFF -DXTRAIN_HEADER_CHECK=OFF -DXTRAIN_BUILD_BENCHMARKS=OFF)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
build=${build:-build/release}
[[ -n "$cxx" ]] && extra+=("-DCMAKE_CXX_COMPILER=$cxx")

jobs=$(nproc 2>/dev/null || echo 2)
echo "test.sh: configuring $build"
bash scripts/configure.sh "$build" -DXTRAIN_BUILD_TESTS=ON -DXTRAIN_BUILD_EXAMPLES=ON -DXTRAIN_BUILD_BENCHMARKS=ON "${extra[@]}"
echo "test.sh: building (${jobs} jobs)"
cmake --build "$build" -j "$jobs"
echo "test.sh: running the tests"
# One BLAS thread per test process: tests run in parallel and results must not depend on threads.
export OPENBLAS_NUM_THREADS=1
ctest --test-dir "$build" --output-on-failure -j "$jobs"
