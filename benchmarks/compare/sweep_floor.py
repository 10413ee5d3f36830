#!/usr/bin/python3
"""What a run of the main job costs per training example, against its GEMM floor.

    OPENBLAS_NUM_THREADS=1 build/release/benchmarks/bench_sweep_floor --benchmark_repetitions=3 \\
        --benchmark_report_aggregates_only=true --benchmark_out=floor.json
    /usr/bin/python3 benchmarks/compare/sweep_floor.py floor.json [RESULTS_DIR]

From bench_sweep_floor's CPU times (medians when repeated; one thread), for each optimizer and
batch size B:

  run    CPU time of one run of lr_batch_sweep's defaults (an epoch of 50 000 rows, 4 evaluations
         on 10 000 rows, divergence guard; with and without the gradient noise scale) per example
  floor  the five products of an update at B, per example, plus the evaluations' forward products
         (batches of 1000 rows) times the evaluated rows per training example

RESULTS_DIR (optional): a results folder of lr_batch_sweep with its default model. The whole
sweep's ratio is then weighted as its runs are: each run's examples_seen at its optimizer and B.
The folder's own run times (wall clock, on a machine that may have been busy) are printed beside.
"""
import csv
import json
import os
import re
import sys
from collections import defaultdict

from gbench import loglog_at, medians


def load(path):
    step, evaluation, runs = {}, None, {}
    for b in medians(path):
        cpu = b["cpu_s"]  # seconds per iteration
        name = b["run_name"]
        m = re.match(r"BM_sweep_step_floor/(\d+)", name)
        if m:
            step[int(m.group(1))] = cpu / int(m.group(1))
            continue
        m = re.match(r"BM_sweep_eval_floor/(\d+)", name)
        if m:
            evaluation = cpu / int(m.group(1))
            continue
        m = re.match(r"BM_sweep_run<(\w+), (true|false)>/(\d+)", name)
        if m:
            runs[(m.group(1).lower(), m.group(2) == "true", int(m.group(3)))] = (cpu, b["examples"], b["evaluated_rows"])
    if not step or evaluation is None or not runs:
        sys.exit(f"{path}: bench_sweep_floor's floors and runs are not all there (filtered out?)")
    return step, evaluation, runs


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    step, evaluation, runs = load(sys.argv[1])
    cost = {}  # (optimizer, noise) -> {B: (run s/example, floor s/example)}
    for (opt, noise, b), (cpu, examples, evaluated) in runs.items():
        floor = loglog_at(step, b) + evaluation * evaluated / examples
        cost.setdefault((opt, noise), {})[b] = (cpu / examples, floor)

    sizes = sorted({b for (_, _, b) in runs})
    print("CPU us per training example: run / its GEMM floor (ratio)\n")
    print("| B | " + " | ".join(f"{opt}{'' if noise else ', no noise scale'}" for (opt, noise) in sorted(cost, key=lambda k: (not k[1], k[0]))) + " |")
    print("|---" * (len(cost) + 1) + "|")
    for b in sizes:
        cells = []
        for key in sorted(cost, key=lambda k: (not k[1], k[0])):
            if b in cost[key]:
                r, f = cost[key][b]
                cells.append(f"{r * 1e6:.2f} / {f * 1e6:.2f} ({r / f:.2f})")
            else:
                cells.append("")
        print(f"| {b} | " + " | ".join(cells) + " |")

    if len(sys.argv) == 3:
        folder = sys.argv[2]
        with open(os.path.join(folder, "meta.json")) as f:
            meta = json.load(f)
        if not meta.get("model", "").startswith("mlp 784-128-10 "):
            sys.exit(f"{folder}: the model is '{meta.get('model')}', but bench_sweep_floor measures mlp 784-128-10")
        noise = "gradient noise scale" in meta.get("budget", "")
        examples = defaultdict(int)
        wall = 0.0
        with open(os.path.join(folder, "summary.csv"), newline="") as f:
            for r in csv.DictReader(f):
                examples[(r["optimizer"], int(r["batch_size"]))] += int(r["examples_seen"])
                wall += float(r["run_seconds"])
        spent = floor = 0.0
        for (opt, b), n in examples.items():
            if (opt, noise) not in cost:
                sys.exit(f"{folder}: optimizer '{opt}' was not measured by bench_sweep_floor")
            table = cost[(opt, noise)]
            spent += n * loglog_at({k: v[0] for k, v in table.items()}, b)
            floor += n * loglog_at({k: v[1] for k, v in table.items()}, b)
        print(f"\n{folder}: {sum(examples.values())} training examples in {len(examples)} cells "
              f"({'with' if noise else 'without'} the noise scale)")
        print(f"  at the measured CPU cost per example: {spent:.0f} s against a GEMM floor of {floor:.0f} s, "
              f"ratio {spent / floor:.2f}")
        print(f"  the folder's own run times add up to {wall:.0f} s (wall clock)")


if __name__ == "__main__":
    main()
