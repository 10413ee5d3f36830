#!/usr/bin/env bash
# xtrain against PyTorch: one epoch of MLP 784-256-10 (float, ReLU, softmax cross-entropy, plain
# SGD) on Fashion-MNIST's training set, the same initial parameters and the same sample order on
# both sides, at several batch sizes. Prints the epoch seconds of both (medians of the runs) and
# PyTorch's time divided by xtrain's.
#
#   bash benchmarks/compare/compare_pytorch.sh [--reps N] [--batches "4 8 32 128 512"]
#        [--threads "1 2"] [--b1-samples N] [--lr X] [--build DIR]
#
# --reps        runs per batch size and side, interleaved (default 5)
# --batches     batch sizes over the full epoch (default "4 8 32 128 512")
# --b1-samples  B = 1 runs on the first N training images only (default 6000; 0 skips B = 1)
# --threads     thread counts to compare (default "1"; 2 threads use OMP_WAIT_POLICY=PASSIVE)
# --build       build directory (default build-compare in the repository)
#
# Needs no network once the packages are there: scripts/deps.sh installs what is missing
# (compilers and libraries, Fashion-MNIST, python3-torch). Results go to <build>/compare/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
reps=5
batches="4 8 32 128 512"
b1_samples=6000
threads="1"
lr=0.05
build="$root/build-compare"
python=/usr/bin/python3 # Debian's python3-torch is installed for this interpreter

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  if [[ $1 == --help || $1 == -h ]]; then usage; exit 0; fi
  [[ $# -ge 2 ]] || { echo "compare_pytorch.sh: $1 needs a value (see --help)" >&2; exit 2; }
  case $1 in
    --reps) reps=$2 ;;
    --batches) batches=$2 ;;
    --b1-samples) b1_samples=$2 ;;
    --threads) threads=$2 ;;
    --lr) lr=$2 ;;
    --build) build=$2 ;;
    *) echo "compare_pytorch.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift 2
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "compare_pytorch.sh: --reps must be a positive integer (got '$reps')" >&2; exit 2; }
[[ $b1_samples =~ ^[0-9]+$ ]] || { echo "compare_pytorch.sh: --b1-samples must be an integer >= 0 (got '$b1_samples')" >&2; exit 2; }
for b in $batches; do
  [[ $b =~ ^[1-9][0-9]*$ ]] || { echo "compare_pytorch.sh: batch sizes must be positive integers (got '$b')" >&2; exit 2; }
done
for t in $threads; do
  [[ $t =~ ^[1-9][0-9]*$ ]] || { echo "compare_pytorch.sh: thread counts must be positive integers (got '$t')" >&2; exit 2; }
done

bash "$root/scripts/deps.sh" build test compare

echo "== building xtrain_epoch in $build"
bash "$root/scripts/configure.sh" "$build" -DXTRAIN_BUILD_TESTS=OFF -DXTRAIN_BUILD_EXAMPLES=OFF \
  -DXTRAIN_HEADER_CHECK=OFF -DXTRAIN_INSTALL=OFF
cmake --build "$build" --target xtrain_epoch >/dev/null
xtrain_epoch="$build/benchmarks/compare/xtrain_epoch"
torch_epoch="$here/torch_epoch.py"

out="$build/compare"
rm -rf "$out"
mkdir -p "$out/full" "$out/b1"
results="$out/results.txt"
: >"$results"

# Initial parameters and the epoch's permutation, written by xtrain, read by PyTorch.
"$xtrain_epoch" --dump "$out/full" --seed 1
if [[ $b1_samples -gt 0 ]]; then
  "$xtrain_epoch" --dump "$out/b1" --seed 1 --limit "$b1_samples"
fi

# One configuration: side (xtrain|torch), threads, batch, rep.
run_one() {
  local side=$1 t=$2 b=$3 rep=$4 dump=$out/full limit=0
  if [[ $b -eq 1 ]]; then dump=$out/b1; limit=$b1_samples; fi
  local losses="$out/losses-$side-t$t-b$b.txt"
  local env=(OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t")
  if [[ $t -gt 1 ]]; then env+=(OMP_WAIT_POLICY=PASSIVE); fi
  local line
  if [[ $side == xtrain ]]; then
    line=$(env "${env[@]}" "$xtrain_epoch" --batch "$b" --limit "$limit" --lr "$lr" --seed 1 --threads "$t" --losses "$losses")
  else
    line=$(env "${env[@]}" "$python" "$torch_epoch" --batch "$b" --limit "$limit" --lr "$lr" --threads "$t" \
      --dump "$dump" --losses "$losses")
  fi
  echo "threads=$t rep=$rep $line" | tee -a "$results"
}

all_batches=$batches
if [[ $b1_samples -gt 0 ]]; then all_batches="1 $batches"; fi
echo "== $reps runs per configuration, interleaved (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for rep in $(seq 1 "$reps"); do
  for t in $threads; do
    for b in $all_batches; do
      # Alternate which side goes first, so that neither always runs right after the other.
      if (( rep % 2 )); then run_one xtrain "$t" "$b" "$rep"; run_one torch "$t" "$b" "$rep"
      else run_one torch "$t" "$b" "$rep"; run_one xtrain "$t" "$b" "$rep"; fi
    done
  done
done

"$python" "$here/summarize.py" "$results" "$out"
