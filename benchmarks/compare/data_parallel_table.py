#!/usr/bin/python3
"""Data-parallel speed-up per global batch size, measured and modelled for a network.

    OPENBLAS_NUM_THREADS=1 mpirun -np 2 build/release/benchmarks/bench_data_parallel \\
        --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_out=dp.json
    /usr/bin/python3 benchmarks/compare/data_parallel_table.py dp.json [SUMMARY_BY_BATCH_CSV]

From bench_data_parallel's medians (wall time per update, one BLAS thread per rank), one table per
network (MLP 784-H-10):

  one rank    t1(B): rank 0 alone, Trainer::fit at batch B (the baseline, same run)
  P ranks     tP(B): Trainer::fit with mpi::DataParallel at global batch B on the run's P ranks
  speed-up    t1(B) / tP(B) as measured (on one machine the all-reduce goes through shared memory)
  modelled    t1(B / P) + a(P) for ranks on separate machines linked at 10 and 100 Gb/s, where a(P)
              is a ring all-reduce of the gradient: 2 (P - 1) / P x bytes / bandwidth, plus
              2 (P - 1) x 20 us of latency; the speed-up t1(B) / that. t1(B / P) is interpolated
              (log-log) between the measured batch sizes.

SUMMARY_BY_BATCH_CSV (optional): summary_by_batch.csv of an lr_batch_sweep run with its default
model (784-128-10), e.g. docs/figures/sweep_summary_by_batch.csv. P ranks take the same steps to
the target as one process (the data-parallel guarantee), so the time to target at each B is those
steps times the time per update on 1 and on P ranks (the H = 128 measurements).
"""
import csv
import math
import re
import sys

from gbench import loglog_at, medians


def load(path):
    """{H: (one, dp, allreduce seconds, gradient bytes)} and the number of ranks."""
    nets, ranks = {}, None
    for b in medians(path):
        m = re.match(r"BM_(dp_fit|one_rank_fit|allreduce)<(\d+)>(?:/(\d+))?", b["run_name"])
        if not m:
            continue
        net = nets.setdefault(int(m.group(2)), {"one": {}, "dp": {}, "allreduce": None, "bytes": None})
        if m.group(1) == "allreduce":
            net["allreduce"] = b["real_s"]
            net["bytes"] = b["bytes"]
            ranks = int(b["ranks"])
        else:
            net["one" if m.group(1) == "one_rank_fit" else "dp"][int(m.group(3))] = b["us_per_step"] * 1e-6
    nets = {h: n for h, n in nets.items() if n["one"] and n["dp"] and n["allreduce"] is not None}
    if not nets:
        sys.exit(f"{path}: expected BM_dp_fit, BM_one_rank_fit and BM_allreduce (a bench_data_parallel report)")
    return nets, ranks


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    nets, p = load(sys.argv[1])
    latency = 2 * (p - 1) * 20e-6

    def ring(grad_bytes, gbps):
        return 2 * (p - 1) / p * grad_bytes / (gbps * 1e9 / 8) + latency

    for h, n in sorted(nets.items(), reverse=True):
        one, dp, nbytes = n["one"], n["dp"], n["bytes"]
        print(f"MLP 784-{h}-10, {p} ranks; all-reduce of {nbytes / 1e3:.0f} kB measured here: "
              f"{n['allreduce'] * 1e6:.0f} us; modelled ring: {ring(nbytes, 10) * 1e3:.2f} ms at 10 Gb/s, "
              f"{ring(nbytes, 100) * 1e3:.3f} ms at 100 Gb/s")
        print()
        print(f"| global B | one rank (ms/update) | {p} ranks (ms/update) | speed-up here | modelled 10 Gb/s | modelled 100 Gb/s |")
        print("|---:|---:|---:|---:|---:|---:|")
        for b in sorted(set(one) & set(dp)):
            part = loglog_at(one, b / p, extrapolate=True)
            print(f"| {b} | {one[b] * 1e3:.2f} | {dp[b] * 1e3:.2f} | {one[b] / dp[b]:.2f}x | "
                  f"{one[b] / (part + ring(nbytes, 10)):.2f}x | {one[b] / (part + ring(nbytes, 100)):.2f}x |")
        print()

    if len(sys.argv) == 3:
        if 128 not in nets:
            sys.exit("the time to target needs the H = 128 measurements (the main job's model)")
        n = nets[128]
        print(f"Time to target, MLP 784-128-10: steps to target (from {sys.argv[2]}) x time per update")
        print()
        print(f"| optimizer | B | steps to target | 1 rank (s) | {p} ranks here (s) | {p} ranks at 10 Gb/s, modelled (s) |")
        print("|---|---:|---:|---:|---:|---:|")
        with open(sys.argv[2]) as f:
            for row in csv.DictReader(f):
                b = int(row["batch_size"])
                steps = row["steps_to_target"]
                if b not in n["one"] or b not in n["dp"] or steps in ("", "nan"):
                    continue
                steps = float(steps)
                if math.isinf(steps):
                    print(f"| {row['optimizer']} | {b} | not reached | | | |")
                    continue
                part = loglog_at(n["one"], b / p, extrapolate=True) + ring(n["bytes"], 10)
                print(f"| {row['optimizer']} | {b} | {steps:.0f} | {steps * n['one'][b]:.2f} | "
                      f"{steps * n['dp'][b]:.2f} | {steps * part:.2f} |")


if __name__ == "__main__":
    main()
