#!/usr/bin/python3
"""Summarises compare_pytorch.sh's runs: the loss check, then medians and ratios per batch size.

Reads the result lines ("threads=T rep=R xtrain|torch batch=B samples=N steps=S epoch_seconds=W
cpu_seconds=C last_loss=L") and the loss files both sides wrote. Exits with 1 if the two sides did
not compute the same thing (first losses differ beyond float tolerance).
"""
import argparse
import collections
import os
import statistics
import sys

# The first batch losses of both sides start from the same parameters and the same samples. They
# differ only by float rounding (summation order inside the libraries; PyTorch's SGD step may use a
# fused multiply-add), which grows slowly with the steps: 1e-4 relative over 20 steps is far below
# what a different initialisation, sample order or update would give (those differ at step 1).
RTOL = 1e-4


def parse(path):
    runs = []
    with open(path) as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            side = "xtrain" if " xtrain " in line else "torch"
            runs.append((side, int(fields["threads"]), int(fields["batch"]), int(fields["samples"]),
                         float(fields["epoch_seconds"]), float(fields["cpu_seconds"])))
    return runs


def loss_check(out, configs):
    ok = True
    print("\n== check: the first 20 batch losses of both sides (same init, same samples, same order)")
    for t, b in configs:
        paths = [os.path.join(out, "losses-%s-t%d-b%d.txt" % (side, t, b)) for side in ("xtrain", "torch")]
        xs, ts = ([float(v) for v in open(p)] for p in paths)
        n = min(len(xs), len(ts))
        worst = max(abs(x - y) / max(abs(y), 1e-30) for x, y in zip(xs[:n], ts[:n]))
        good = n > 0 and worst <= RTOL
        ok = ok and good
        print("threads %d, B = %4d: first losses %.6f / %.6f, largest relative difference over %d steps %.1e  %s"
              % (t, b, xs[0], ts[0], n, worst, "ok" if good else "MISMATCH (limit %.0e)" % RTOL))
    return ok


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("out")
    a = p.parse_args()

    runs = parse(a.results)
    by = collections.defaultdict(list)
    for side, t, b, n, wall, cpu in runs:
        by[(t, b, side)].append((wall, cpu, n))
    configs = sorted({(t, b) for (t, b, _) in by})
    ok = loss_check(a.out, configs)

    print("\n== one epoch of MLP 784-256-10, SGD, Fashion-MNIST: medians of %d runs per cell"
          % max(len(v) for v in by.values()))
    print("| threads | B | samples | xtrain s | PyTorch s | PyTorch / xtrain | xtrain CPU s | PyTorch CPU s | PyTorch / xtrain (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|")
    goals = []
    for t, b in configs:
        x, y = by[(t, b, "xtrain")], by[(t, b, "torch")]
        xw, yw = statistics.median(r[0] for r in x), statistics.median(r[0] for r in y)
        xc, yc = statistics.median(r[1] for r in x), statistics.median(r[1] for r in y)
        n = x[0][2]
        mark = " (first %d images only)" % n if b == 1 else ""
        print("| %d | %d%s | %d | %.3f | %.3f | %.2f | %.3f | %.3f | %.2f |"
              % (t, b, mark, n, xw, yw, yw / xw, xc, yc, yc / xc))
        goals.append((t, b, yw / xw))
    print("\nCPU seconds add up all threads of the process; with one thread they are the time the process"
          " ran, which other processes on a shared machine inflate less than wall time.")
    faster = all(r > 1.0 for _, _, r in goals)
    twice = all(r >= 2.0 for _, b, r in goals if b <= 8)
    print("goal: xtrain faster at every batch size (wall): %s; at least 2x faster at B <= 8 (wall): %s"
          % ("met" if faster else "MISSED", "met" if twice else "MISSED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
