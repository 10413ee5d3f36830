#!/usr/bin/python3
"""Turns bench_train's JSON output into the step-against-GEMMs table of docs/performance.md.

    OPENBLAS_NUM_THREADS=1 bench_train --benchmark_repetitions=9 \\
        --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \\
        --benchmark_out=bench_train.json
    /usr/bin/python3 benchmarks/compare/bench_train_table.py bench_train.json

Uses the medians. Times are CPU microseconds per update (one thread: the time the program ran,
which other processes on a shared machine inflate less than wall time); the last column gives
the step's ratio in wall time too.
"""
import json
import re
import sys

UNIT = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        report = json.load(f)
    cell = {}
    for b in report["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        m = re.match(r"(BM_\w+)/(\d+)/", b["run_name"])
        if not m:
            continue
        scale = UNIT[b["time_unit"]]
        cell[(m.group(1), int(m.group(2)))] = dict(b, real=b["real_time"] * scale, cpu=b["cpu_time"] * scale)

    print("| B | step | Trainer update | Trainer::fit | loss_and_gradient | GEMMs | step / GEMMs "
          "| update / GEMMs | fit / GEMMs | step / GEMMs (wall) | allocations per step, per update |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for batch in sorted({b for (_, b) in cell}):
        step, upd = cell[("BM_train_step", batch)], cell[("BM_trainer_update", batch)]
        fit, lg = cell[("BM_trainer_fit", batch)], cell[("BM_loss_and_gradient", batch)]
        floor = cell[("BM_gemm_floor", batch)]
        fit_cpu = fit["cpu_us_per_step"]
        print("| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %g, %g |"
              % (batch, step["cpu"], upd["cpu"], fit_cpu, lg["cpu"], floor["cpu"], step["cpu"] / floor["cpu"],
                 upd["cpu"] / floor["cpu"], fit_cpu / floor["cpu"], step["real"] / floor["real"],
                 step["allocs_per_step"], upd["allocs_per_step"]))


if __name__ == "__main__":
    main()
