#!/usr/bin/env bash
# Proves, on a small sweep of the main job, that a results folder loses nothing and duplicates
# nothing, whatever happens to the process writing it:
#   1. KILLS SIGKILLs at random moments (while runs train, while the folder is opened, repaired or
#      rewritten at the end), each followed by a resume; the folder at the end is compared, file by
#      file and row by row, with an uninterrupted run of the same sweep (timings left out);
#   2. a second process started on a folder in use is refused, naming the first;
#   3. a full disk (a file-size limit) stops the sweep with the file's name, and a resume with room
#      finishes it, again equal to the uninterrupted run;
#   4. a read-only folder is refused naming the file and left as it was; once writable, a resume
#      finishes it;
#   5. a value edited by hand in runs.csv is refused (its run's checksum) and nothing is changed.
# Prints the figures (kills, rows lost, duplicated, torn) and exits non-zero on any difference.
#   bash scripts/reliability.sh [KILLS] [BUILD_DIR]     # defaults: 40, build/release
# The main job must be built already (bash scripts/test.sh builds it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
kills=${1:-40}
build=${2:-build/release}
bin="$build/examples/lr_batch_sweep"
[[ "$kills" =~ ^[0-9]+$ ]] || { echo "reliability.sh: KILLS must be a whole number (got '$kills')" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "reliability.sh: $bin is not built (run bash scripts/test.sh first)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 2 x 4 x 2 x 2 = 32 runs on a synthetic task: about 2 s on two cores.
sweep=(--dataset blobs --optimizers sgd,adam --lrs 0.01,0.1,1,10 --batch-sizes 8,32 --seeds 1,2 --epochs 4
       --no-figures --jobs 2)
files=(runs.csv summary.csv failures.csv summary_by_batch.csv fits.csv noise_scale.csv)

# A CSV file without its timing columns (any column whose name has "seconds" in it, and the
# checksum, which covers them): what two runs of the same deterministic sweep agree on. Quoted
# fields are kept whole.
normalize() {
  awk '
    # Splits a CSV line into f[1..n], keeping quoted fields (with their commas) whole (any awk).
    function split_csv(line, f,    n, i, c, q, cur) {
      n = 0; q = 0; cur = ""
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (c == "\"") q = !q
        if (c == "," && !q) { f[++n] = cur; cur = "" } else cur = cur c
      }
      f[++n] = cur
      return n
    }
    { n = split_csv($0, f) }
    NR == 1 { for (i = 1; i <= n; i++) drop[i] = (f[i] ~ /seconds/ || f[i] == "checksum") }
    { out = ""; for (i = 1; i <= n; i++) if (!drop[i]) out = out (i == 1 ? "" : ",") f[i]; print out }' "$1"
}

# Compares folder $1 with the reference; adds to the counters lost, duplicated, torn.
lost=0; duplicated=0; torn=0; differing=()
compare() {
  local dir=$1 f
  for f in "${files[@]}"; do
    if [[ ! -f "$dir/$f" ]]; then
      differing+=("$dir/$f (missing)")
      continue
    fi
    normalize "$work/ref/$f" | sort > "$work/a"
    normalize "$dir/$f" | sort > "$work/b"
    local l d t
    l=$(comm -23 <(uniq "$work/a") <(uniq "$work/b") | wc -l)
    d=$(uniq -d "$work/b" | wc -l)
    t=$(comm -13 <(uniq "$work/a") <(uniq "$work/b") | wc -l)
    lost=$((lost + l)); duplicated=$((duplicated + d)); torn=$((torn + t))
    if ! cmp -s <(normalize "$work/ref/$f") <(normalize "$dir/$f"); then
      differing+=("$dir/$f")
    fi
  done
}

echo "reliability.sh: the uninterrupted run"
t0=$(date +%s.%N)
"$bin" "${sweep[@]}" --out "$work/ref" > "$work/ref.log" 2>&1
ref_seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
total_runs=$(( $(wc -l < "$work/ref/summary.csv") - 1 ))

# 1. Random SIGKILLs, each followed by a resume.
echo "reliability.sh: $kills SIGKILLs at random moments, each followed by a resume"
out="$work/killed"
during=0; finished_first=0
for ((k = 1; k <= kills; k++)); do
  "$bin" "${sweep[@]}" --out "$out" > "$work/kill.log" 2>&1 &
  pid=$!
  # A moment between opening the folder and a little after the end of the runs still to do (so
  # that the final rewrite is hit too): the time the reference took, scaled by what is left.
  done_runs=0
  [[ -f "$out/summary.csv" ]] && done_runs=$(( $(wc -l < "$out/summary.csv") - 1 ))
  sleep "$(awk -v r=$RANDOM -v t="$ref_seconds" -v left=$((total_runs - done_runs)) -v all="$total_runs" \
           'BEGIN { printf "%.3f", r / 32767 * (0.05 + 1.2 * t * left / all) }')"
  if kill -9 "$pid" 2>/dev/null; then
    during=$((during + 1))
  else
    finished_first=$((finished_first + 1))
  fi
  wait "$pid" 2>/dev/null || true
  if grep -q "lr_batch_sweep: " "$work/kill.log"; then
    echo "reliability.sh: a resume after a kill failed:" >&2
    cat "$work/kill.log" >&2
    exit 1
  fi
  # Start over now and then, so that early moments (creating the folder) are hit too.
  if (( k % 8 == 0 )) && (( k < kills )); then
    "$bin" "${sweep[@]}" --out "$out" > "$work/finish.log" 2>&1
    compare "$out"
    rm -rf "$out"
  fi
done
"$bin" "${sweep[@]}" --out "$out" > "$work/finish.log" 2>&1
compare "$out"

# 2. Two processes on one folder: the second is refused while the first writes.
echo "reliability.sh: a second process on a folder in use"
conc="$work/concurrent"
"$bin" "${sweep[@]}" --out "$conc" > "$work/first.log" 2>&1 &
first=$!
for _ in $(seq 100); do [[ -f "$conc/meta.json" ]] && break; sleep 0.02; done
refused=0
if "$bin" "${sweep[@]}" --out "$conc" > "$work/second.log" 2>&1; then
  kill -0 "$first" 2>/dev/null && { echo "reliability.sh: the second writer was not refused" >&2; exit 1; }
else
  grep -q "is in use by another process (pid $first" "$work/second.log" && refused=1
fi
wait "$first"
if [[ $refused -eq 0 ]]; then
  echo "reliability.sh: the first writer finished before the second started; no refusal to check" >&2
  cat "$work/second.log" >&2
  exit 1
fi
compare "$conc"

# 3. A full disk: files cannot grow beyond 16 KiB (runs.csv reaches about 40 KiB).
echo "reliability.sh: a full disk, then a resume with room"
full="$work/full"
set +e
( trap '' XFSZ; ulimit -f 16; exec "$bin" "${sweep[@]}" --out "$full" ) > "$work/full.log" 2>&1
rc=$?
set -e
if [[ $rc -eq 0 ]] || ! grep -q "(disk full?)" "$work/full.log"; then
  echo "reliability.sh: a sweep on a full disk did not fail naming the file (exit $rc):" >&2
  cat "$work/full.log" >&2
  exit 1
fi
full_message=$(grep -o "cannot write '[^']*'" "$work/full.log" | head -n 1)
"$bin" "${sweep[@]}" --out "$full" > "$work/full_resume.log" 2>&1
compare "$full"

# Digest of every file of folder $1 (to show that a refused command changed nothing).
digest() { (cd "$1" && find . -type f ! -name .xtrain-lock -print0 | sort -z | xargs -0 md5sum); }

# 4. A read-only folder holding an unfinished sweep: refused naming the file, nothing changed; a
#    resume once it is writable again finishes it. Root writes through permissions, so as root the
#    sweep runs as the unprivileged user nobody.
echo "reliability.sh: a read-only folder, then a resume once it is writable"
ro="$work/readonly"
cp -r "$work/ref" "$ro"
head -n -3 "$work/ref/summary.csv" > "$ro/summary.csv"   # three runs still to do
as_user=()
if [[ $(id -u) -eq 0 ]]; then
  command -v setpriv >/dev/null || { echo "reliability.sh: setpriv (util-linux) is needed as root" >&2; exit 1; }
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  chmod -R a+rX "$work"
fi
chmod -R a-w "$ro"
before=$(digest "$ro")
set +e
"${as_user[@]}" "$bin" "${sweep[@]}" --out "$ro" > "$work/ro.log" 2>&1
rc=$?
set -e
chmod -R u+w "$ro"
if [[ $rc -eq 0 ]] || ! grep -q "'$ro/[^']*': Permission denied" "$work/ro.log" || [[ "$(digest "$ro")" != "$before" ]]; then
  echo "reliability.sh: a sweep in a read-only folder did not fail naming the file, or changed it (exit $rc):" >&2
  cat "$work/ro.log" >&2
  exit 1
fi
ro_message=$(grep -o "cannot [^']*'[^']*': Permission denied" "$work/ro.log" | head -n 1)
"$bin" "${sweep[@]}" --out "$ro" > "$work/ro_resume.log" 2>&1
compare "$ro"

# 5. A value edited by hand in runs.csv: refused naming the line and the run, nothing changed.
echo "reliability.sh: a value edited by hand"
edited="$work/edited"
cp -r "$work/ref" "$edited"
awk -F, -v OFS=, 'NR == 6 { $10 = ($10 == "0.5" ? "0.75" : "0.5") } { print }' "$work/ref/runs.csv" > "$edited/runs.csv"
before=$(digest "$edited")
set +e
"$bin" "${sweep[@]}" --out "$edited" > "$work/edited.log" 2>&1
rc=$?
set -e
if [[ $rc -eq 0 ]] || ! grep -q "does not match its checksum" "$work/edited.log" || [[ "$(digest "$edited")" != "$before" ]]; then
  echo "reliability.sh: a hand-edited folder was not refused, or was changed (exit $rc):" >&2
  cat "$work/edited.log" >&2
  exit 1
fi

echo "reliability.sh: $kills kills ($during while the sweep ran, $finished_first after it had finished),"\
     "then resumed: rows lost $lost, duplicated $duplicated, torn $torn;" \
     "a second writer refused; a full disk reported ($full_message) and resumed;" \
     "a read-only folder refused ($ro_message) and resumed; a hand edit refused"
if [[ ${#differing[@]} -ne 0 ]]; then
  printf 'reliability.sh: differs from the uninterrupted run: %s\n' "${differing[@]}" >&2
  exit 1
fi
if (( lost + duplicated + torn != 0 )); then
  exit 1
fi
echo "reliability.sh: nothing lost, nothing duplicated"
