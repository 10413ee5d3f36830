#!/usr/bin/env bash
# Configures a build directory the way the Quick start scripts use it.
#   bash scripts/configure.sh BUILD_DIR [extra cmake arguments...]
# Uses Ninja when present and ccache when present; Release unless CMAKE_BUILD_TYPE is passed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1; shift
args=(-S "$root" -B "$build")
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  if command -v ninja >/dev/null 2>&1; then args+=(-G Ninja); fi
fi
if command -v ccache >/dev/null 2>&1; then args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
case " $* " in *" -DCMAKE_BUILD_TYPE="*) ;; *) args+=(-DCMAKE_BUILD_TYPE=Release) ;; esac
cmake "${args[@]}" "$@" >/dev/null
