#!/usr/bin/python3
"""Writes tests/data/optimizer_traces.bin: trajectories of torch.optim for xtrain's optimizer tests.

Run by hand with Debian's python3-torch (1.13), never by CI:
    /usr/bin/python3 tests/data/make_optimizer_traces.py

Every trace steps the same starting parameters with the same fixed sequence of gradients and a
learning rate that changes twice mid-run (down, then up), and records the parameters after every
step. The gradients do not depend on the parameters: the test checks the update rule, and a fixed
sequence lets the C++ side feed exactly what torch was fed. Gradients and starting values are
float32 numbers, so the float64 and float32 runs start from identical inputs.

File layout (little-endian, no padding):
    char[8]  magic "XTOPTTR1"
    u32      length of the provenance text, then that many bytes of UTF-8 (torch version, CPU path)
    u32      P, the number of parameters;  u32 S, the number of steps
    f32      grads[S][P]                   gradient fed at step s (0-based)
    f32      init[P]                       parameters before the first step
    u32      number of traces, then per trace:
        u32  length of the spec, then the spec: "<Optimizer> key=value ..." with xtrain's names
        u8   bytes per scalar (8 = float64, 4 = float32)
        f64  lr[S]                         learning rate in effect at step s
        T    params[S][P]                  parameters after step s, T as given above
"""
import os
import struct
import sys

import numpy as np
import torch

P = 11      # odd, so vectorised loops also run their scalar tails
S = 60      # steps per trace
LR_SWITCH = (20, 40)  # lr x 0.3 from step 20, x 0.6 from step 40

MAGIC = b"XTOPTTR1"


def make_inputs():
    """Gradients spanning five decades, with sign changes, exact zeros and a persistent bias."""
    rng = np.random.default_rng(20240611)
    scale = 10.0 ** np.linspace(-3.0, 1.0, P)          # per-coordinate magnitude 1e-3 .. 10
    bias = rng.uniform(-1.0, 1.0, P)                   # so that moments do not average to zero
    g = scale * (rng.standard_normal((S, P)) + bias)
    g[rng.random((S, P)) < 0.05] = 0.0                 # occasional exact zeros (eps paths)
    g[:5, 0] = 0.0                                     # a coordinate whose first gradients are 0
    init = rng.uniform(-2.0, 2.0, P)
    init[1] = 0.0                                      # a parameter starting at exactly zero
    return g.astype(np.float32), init.astype(np.float32)


def lr_sequence(lr0):
    out = []
    for s in range(S):
        f = 1.0 if s < LR_SWITCH[0] else (0.3 if s < LR_SWITCH[1] else 0.6)
        out.append(lr0 * f)
    return out


def configs():
    """(spec for xtrain, torch constructor taking params and lr, base lr)."""
    out = []
    # SGD: every combination of momentum, dampening, nesterov and weight decay torch accepts.
    for momentum in (0.0, 0.9):
        for dampening in (0.0, 0.3):
            for nesterov in (False, True):
                if nesterov and (momentum == 0.0 or dampening != 0.0):
                    continue
                for wd in (0.0, 0.05):
                    spec = "SGD momentum=%r dampening=%r weight_decay=%r nesterov=%d" % (
                        momentum, dampening, wd, int(nesterov))
                    ctor = (lambda p, lr, m=momentum, d=dampening, n=nesterov, w=wd:
                            torch.optim.SGD(p, lr=lr, momentum=m, dampening=d, nesterov=n, weight_decay=w))
                    out.append((spec, ctor, 0.1))
    # Adam, Adam with L2 (coupled) decay, AdamW, and their AMSGrad variants.
    for amsgrad in (False, True):
        for wd, decoupled in ((0.0, False), (0.05, False), (0.05, True)):
            spec = "Adam beta1=0.9 beta2=0.999 eps=1e-08 weight_decay=%r amsgrad=%d decoupled_weight_decay=%d" % (
                wd, int(amsgrad), int(decoupled))
            if decoupled:
                ctor = (lambda p, lr, w=wd, a=amsgrad:
                        torch.optim.AdamW(p, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=w, amsgrad=a))
            else:
                ctor = (lambda p, lr, w=wd, a=amsgrad:
                        torch.optim.Adam(p, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=w, amsgrad=a))
            out.append((spec, ctor, 0.01))
    # Adam with other betas and a large eps, so the constants are not only the defaults.
    out.append(("Adam beta1=0.5 beta2=0.9 eps=0.001 weight_decay=0.0 amsgrad=0 decoupled_weight_decay=0",
                lambda p, lr: torch.optim.Adam(p, lr=lr, betas=(0.5, 0.9), eps=1e-3), 0.01))
    # RMSprop: plain, L2 decay, centered, momentum, everything together.
    for alpha, wd, momentum, centered in ((0.99, 0.0, 0.0, False), (0.9, 0.05, 0.0, False),
                                          (0.99, 0.0, 0.0, True), (0.99, 0.0, 0.9, False),
                                          (0.95, 0.05, 0.8, True)):
        spec = "RMSprop alpha=%r eps=1e-08 weight_decay=%r momentum=%r centered=%d" % (
            alpha, wd, momentum, int(centered))
        ctor = (lambda p, lr, a=alpha, w=wd, m=momentum, c=centered:
                torch.optim.RMSprop(p, lr=lr, alpha=a, eps=1e-8, weight_decay=w, momentum=m, centered=c))
        out.append((spec, ctor, 0.01))
    # Adagrad: plain, and with lr decay, L2 decay and a starting accumulator.
    out.append(("Adagrad lr_decay=0.0 weight_decay=0.0 initial_accumulator_value=0.0 eps=1e-10",
                lambda p, lr: torch.optim.Adagrad(p, lr=lr), 0.1))
    out.append(("Adagrad lr_decay=0.01 weight_decay=0.05 initial_accumulator_value=0.1 eps=1e-10",
                lambda p, lr: torch.optim.Adagrad(p, lr=lr, lr_decay=0.01, weight_decay=0.05,
                                                  initial_accumulator_value=0.1), 0.1))
    return out


def run(ctor, lr0, grads, init, dtype):
    p = torch.nn.Parameter(torch.tensor(init, dtype=dtype))
    lrs = lr_sequence(lr0)
    opt = ctor([p], lrs[0])
    # The single-tensor code path, as xtrain's loop mirrors its order of operations.
    for group in opt.param_groups:
        if "foreach" in group:
            group["foreach"] = False
    traj = np.empty((S, P), dtype=np.float64 if dtype == torch.float64 else np.float32)
    for s in range(S):
        for group in opt.param_groups:
            group["lr"] = lrs[s]
        p.grad = torch.tensor(grads[s], dtype=dtype)
        opt.step()
        traj[s] = p.detach().numpy()
    return lrs, traj


def main():
    torch.set_num_threads(1)
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizer_traces.bin")
    grads, init = make_inputs()
    caps = torch.__config__.show()
    cpu_path = next((line.strip().lstrip("- ") for line in caps.splitlines() if "CPU capability" in line), "CPU capability unknown")
    provenance = "torch %s, numpy %s, %s, single-tensor code paths" % (torch.__version__, np.__version__, cpu_path)
    blob = bytearray()
    blob += MAGIC
    text = provenance.encode("utf-8")
    blob += struct.pack("<I", len(text)) + text
    blob += struct.pack("<II", P, S)
    blob += grads.astype("<f4").tobytes()
    blob += init.astype("<f4").tobytes()
    cfgs = configs()
    blob += struct.pack("<I", 2 * len(cfgs))
    for spec, ctor, lr0 in cfgs:
        for dtype, width, code in ((torch.float64, 8, "<f8"), (torch.float32, 4, "<f4")):
            lrs, traj = run(ctor, lr0, grads, init, dtype)
            s = ("%s lr=%r" % (spec, lr0)).encode("ascii")
            blob += struct.pack("<I", len(s)) + s
            blob += struct.pack("<B", width)
            blob += np.asarray(lrs, dtype="<f8").tobytes()
            blob += traj.astype(code).tobytes()
    with open(out_path, "wb") as f:
        f.write(bytes(blob))
    print("wrote %s: %d traces, %d bytes (%s)" % (out_path, 2 * len(cfgs), len(blob), provenance), file=sys.stderr)


if __name__ == "__main__":
    main()
