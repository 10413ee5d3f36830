#!/usr/bin/env bash
# Fuzzes the file readers (IDX, plain and gzip, and CSV), the checkpoint loader, the parameters-file loader and
# the decoder of the bytes a sweep's runs travel in between processes (run specs and reports) with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer: builds tests/fuzz with clang++-14 in build/fuzz, copies the committed
# seed corpus (tests/fuzz/corpus/<target>, written by tests/fuzz/make_corpus.py), and runs each
# target for SECONDS (default 60). Exits non-zero on any finding (a crash, a sanitizer report, a
# broken invariant of the target, an unexpected exception, a timeout or an oversized allocation);
# the input that caused it is kept in build/fuzz/artifacts/. (ctest replays the same corpus through
# the same targets without libFuzzer: "fuzz corpus: fuzz_idx", "fuzz corpus: fuzz_csv",
# "fuzz corpus: fuzz_checkpoint", "fuzz corpus: fuzz_parameters", "fuzz corpus: fuzz_run_transfer".)
#   bash scripts/fuzz.sh [SECONDS]      # SECONDS = 0: build and copy the corpus only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
secs=${1:-60}
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number (got '$secs')" >&2; exit 2; }
build=${XTRAIN_FUZZ_BUILD_DIR:-build/fuzz}

# clang and its fuzzer runtime are in the ci group; the fuzz targets need nothing of the tests'.
bash scripts/deps.sh build ci
echo "fuzz.sh: configuring $build"
bash scripts/configure.sh "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DXTRAIN_FUZZ=ON -DXTRAIN_BUILD_TESTS=OFF \
  -DXTRAIN_BUILD_EXAMPLES=OFF -DXTRAIN_BUILD_BENCHMARKS=OFF
echo "fuzz.sh: building the fuzz targets"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target fuzz_idx fuzz_csv fuzz_checkpoint fuzz_parameters fuzz_run_transfer

# The seed corpus, copied afresh every run: libFuzzer adds what it finds interesting to these
# folders, and the committed ones stay as they are.
corpus="$build/corpus"
rm -rf "$corpus"
mkdir -p "$corpus" "$build/artifacts"
for target in idx csv checkpoint parameters run_transfer; do
  cp -R "tests/fuzz/corpus/fuzz_$target" "$corpus/$target"
done

if [[ "$secs" -eq 0 ]]; then
  echo "fuzz.sh: built; not running (SECONDS = 0)"
  exit 0
fi
status=0
for target in idx csv checkpoint parameters run_transfer; do
  echo "fuzz.sh: running fuzz_$target for $secs s"
  if ! "$build/tests/fuzz/fuzz_$target" "$corpus/$target" -max_total_time="$secs" -timeout=10 \
       -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
       -artifact_prefix="$build/artifacts/$target-" 2> "$build/fuzz_$target.log"; then
    status=1
    echo "fuzz.sh: fuzz_$target FOUND A PROBLEM; the log ends with:" >&2
    tail -n 40 "$build/fuzz_$target.log" >&2
  else
    grep -E "^stat::number_of_executed_units|^Done" "$build/fuzz_$target.log" | sed "s/^/fuzz.sh: fuzz_$target: /"
  fi
done
[[ $status -eq 0 ]] && echo "fuzz.sh: no finding"
exit $status
