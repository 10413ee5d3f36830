"""Reading Google Benchmark JSON reports, for the comparison scripts beside this file."""
import json
import math
import sys

_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def medians(path):
    """The report's benchmarks, the median of each when repeated; with 'real_s' and 'cpu_s' (seconds
    per iteration) added. Exits, naming it, if one reports an error."""
    with open(path) as f:
        report = json.load(f)
    out = []
    for b in report["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if b.get("error_occurred"):
            sys.exit(f"{path}: {b['run_name']} failed: {b.get('error_message')}")
        unit = _UNIT[b["time_unit"]]
        out.append(dict(b, real_s=b["real_time"] * unit, cpu_s=b["cpu_time"] * unit))
    return out


def loglog_at(table, b, extrapolate=False):
    """table[b], or interpolated log-log between the measured neighbours. Outside the measured
    range: proportional to b from the nearest end if extrapolate, else an exit naming the range."""
    if b in table:
        return table[b]
    sizes = sorted(table)
    lo = max((s for s in sizes if s < b), default=None)
    hi = min((s for s in sizes if s > b), default=None)
    if lo is None or hi is None:
        if not extrapolate:
            sys.exit(f"batch size {b} is outside the measured range {sizes[0]}..{sizes[-1]}")
        end = hi if lo is None else lo
        return table[end] * b / end
    t = (math.log(b) - math.log(lo)) / (math.log(hi) - math.log(lo))
    return math.exp((1 - t) * math.log(table[lo]) + t * math.log(table[hi]))
