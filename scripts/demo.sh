#!/usr/bin/env bash
# Installs what is missing, builds the LR x batch-size sweep and runs it (the Quick start's first
# command). Arguments are passed to the sweep (see `build/examples/lr_batch_sweep --help`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/deps.sh build demo
build=build
jobs=$(nproc 2>/dev/null || echo 2)
bash scripts/configure.sh "$build"
cmake --build "$build" -j "$jobs" --target lr_batch_sweep
exec "$build/examples/lr_batch_sweep" "$@"
