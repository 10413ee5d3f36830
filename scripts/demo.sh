#!/usr/bin/env bash
# Installs what is missing, builds the LR x batch-size sweep and runs it (the Quick start's first
# command). Arguments are passed to the sweep (see `bash scripts/demo.sh --help`). Results go to
# results/lr_batch_sweep/ unless --out says otherwise; running it again resumes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/deps.sh build demo
build=build/demo
jobs=$(nproc 2>/dev/null || echo 2)
# Only the examples: the tests and benchmarks need packages the demo does not install.
bash scripts/configure.sh "$build" -DXTRAIN_BUILD_TESTS=OFF -DXTRAIN_BUILD_BENCHMARKS=OFF -DXTRAIN_BUILD_EXAMPLES=ON
cmake --build "$build" -j "$jobs" --target lr_batch_sweep
exec "$build/examples/lr_batch_sweep" "$@"
