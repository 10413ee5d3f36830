#!/usr/bin/env bash
# Fuzzes the file readers (IDX, plain and gzip, and CSV) with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer: builds tests/fuzz with clang++-14 in build/fuzz, generates a small seed
# corpus, and runs each target for SECONDS (default 60). Exits non-zero on any finding (a crash, a
# sanitizer report, an unexpected exception, a timeout or an oversized allocation); the input that
# caused it is kept in build/fuzz/artifacts/.
#   bash scripts/fuzz.sh [SECONDS]      # SECONDS = 0: build and make the corpus only
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
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target fuzz_idx fuzz_csv

# Seed corpus, regenerated every run (libFuzzer adds what it finds interesting to these folders).
corpus="$build/corpus"
rm -rf "$corpus"
mkdir -p "$corpus/idx" "$corpus/csv" "$build/artifacts"
# IDX seeds (escape strings for printf %b: bash variables cannot hold NUL bytes): a mode byte (0-3: read_idx float/double, images+labels pair, file path) then a file.
images='\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x10\x80\xff\x01\x02\x03\x04'
labels='\x00\x00\x08\x01\x00\x00\x00\x02\x00\x01'
floats='\x00\x00\x0d\x02\x00\x00\x00\x01\x00\x00\x00\x02\x3f\xc0\x00\x00\xbf\x80\x00\x00'
shorts='\x00\x00\x0b\x01\x00\x00\x00\x02\xff\xfe\x01\x2c'
for mode in 0 1 3; do
  printf '%b' "\\x0$mode" > "$corpus/idx/images-$mode"; printf '%b' "$images" >> "$corpus/idx/images-$mode"
  printf '%b' "\\x0$mode" > "$corpus/idx/images-gz-$mode"; printf '%b' "$images" | gzip -9 -n >> "$corpus/idx/images-gz-$mode"
done
printf '\x00' > "$corpus/idx/floats"; printf '%b' "$floats" >> "$corpus/idx/floats"
printf '\x01' > "$corpus/idx/shorts"; printf '%b' "$shorts" >> "$corpus/idx/shorts"
# Pair: mode 2, then the split byte (24 image bytes of 34: 24 * 256 / 34 = 181), then images and labels.
printf '\x02\xb5' > "$corpus/idx/pair"; printf '%b%b' "$images" "$labels" >> "$corpus/idx/pair"
# CSV seeds: an options byte (see fuzz_csv.cpp) then a table.
printf '\x00a,b,y\n1.5,2,0\n-3e2,4,1\n' > "$corpus/csv/classes"
printf '\x04a,b,y\n1.5,2,0.25\n3,4,-1\n' > "$corpus/csv/regression"
printf '\x29id;"x; 1";y\r\n7;"2";"cat"\r\n8;3;dog\r\n' > "$corpus/csv/names"
printf '\x40id,x,y\n1,+2.5,1\n\n2,"3",0\n' > "$corpus/csv/ignore"

if [[ "$secs" -eq 0 ]]; then
  echo "fuzz.sh: built; not running (SECONDS = 0)"
  exit 0
fi
status=0
for target in idx csv; do
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
