#!/usr/bin/python3
"""Turns bench_train's JSON output into the tables of docs/performance.md.

    OPENBLAS_NUM_THREADS=1 bench_train --benchmark_repetitions=5 \\
        --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \\
        --benchmark_out=bench_train.json
    /usr/bin/python3 benchmarks/compare/bench_train_table.py bench_train.json

Uses the medians. Times are CPU microseconds per update (one thread: the time the program ran,
which other processes on a shared machine inflate less than wall time). Per-sample ratios are
against the same benchmark's per-sample cost at B = 512 from the same run. Rows and columns
whose benchmarks were filtered out are left out.
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
        k = re.match(r"BM_layer1<Kernel::(\w+)>/(\d+)/", b["run_name"])
        if k:
            cell[("layer1_" + k.group(1), int(k.group(2)))] = dict(b, cpu=b["cpu_time"] * UNIT[b["time_unit"]])
            continue
        m = re.match(r"(BM_\w+?)(?:<(\d+)>)?/(?:(\d+)/)?", b["run_name"])
        if not m:
            continue
        batch = int(m.group(2) or m.group(3))
        scale = UNIT[b["time_unit"]]
        cpu = b["cpu_time"] * scale
        if "cpu_us_per_step" in b:
            cpu = b["cpu_us_per_step"]
        cell[(m.group(1), batch)] = dict(b, cpu=cpu)

    def cpu(name, batch):
        c = cell.get((name, batch))
        return c["cpu"] if c else None

    def fmt(x, spec):
        return spec % x if x is not None else "-"

    def per_sample_ratio(name, batch):
        v, ref = cpu(name, batch), cpu(name, 512)
        return (v / batch) / (ref / 512) if v is not None and ref is not None else None

    def ratio(a, b):
        return a / b if a is not None and b is not None else None

    print("| B | step | fused step | Trainer::fit | GEMMs | step / GEMMs | fused / GEMMs | fit / GEMMs "
          "| step per sample / B=512 | fused per sample / B=512 | fit per sample / B=512 | allocations per step |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for batch in sorted({b for (n, b) in cell if n == "BM_gemm_floor"}):
        step, fused = cpu("BM_train_step", batch), cpu("BM_train_step_fused", batch)
        fit, floor = cpu("BM_trainer_fit", batch), cpu("BM_gemm_floor", batch)
        allocs = [cell[(n, batch)]["allocs_per_step"] for n in ("BM_train_step", "BM_train_step_fused", "BM_trainer_fit")
                  if (n, batch) in cell]
        print("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
              % (batch, fmt(step, "%.0f"), fmt(fused, "%.0f"), fmt(fit, "%.0f"), fmt(floor, "%.0f"),
                 fmt(ratio(step, floor), "%.2f"), fmt(ratio(fused, floor), "%.2f"), fmt(ratio(fit, floor), "%.2f"),
                 fmt(per_sample_ratio("BM_train_step", batch), "%.2f"),
                 fmt(per_sample_ratio("BM_train_step_fused", batch), "%.2f"),
                 fmt(per_sample_ratio("BM_trainer_fit", batch), "%.2f"), ", ".join("%g" % a for a in allocs)))

    layer = sorted(b for (n, b) in cell if n == "layer1_forward_blas")
    if layer:
        print()
        print("| B | forward, OpenBLAS | forward, xtrain | xtrain / OpenBLAS | weight gradient, OpenBLAS "
              "| weight gradient, xtrain | xtrain / OpenBLAS |")
        print("|---|---|---|---|---|---|---|")
        for batch in layer:
            fb, fx = cpu("layer1_forward_blas", batch), cpu("layer1_forward_xtrain", batch)
            wb, wx = cpu("layer1_weight_gradient_blas", batch), cpu("layer1_weight_gradient_xtrain", batch)
            print("| %d | %s | %s | %s | %s | %s | %s |" % (batch, fmt(fb, "%.1f"), fmt(fx, "%.1f"), fmt(ratio(fx, fb), "%.2f"),
                                                       fmt(wb, "%.1f"), fmt(wx, "%.1f"), fmt(ratio(wx, wb), "%.2f")))

    fixed = sorted(b for (n, b) in cell if n == "BM_fit_fixed")
    if fixed:
        print()
        print("| B | BatchSampler<B> | BatchSampler<dynamic> | fixed / dynamic |")
        print("|---|---|---|---|")
        for batch in fixed:
            f, d = cpu("BM_fit_fixed", batch), cpu("BM_fit_dynamic", batch)
            print("| %d | %s | %s | %s |" % (batch, fmt(f, "%.1f"), fmt(d, "%.1f"), fmt(ratio(f, d), "%.3f")))


if __name__ == "__main__":
    main()
