#!/usr/bin/python3
"""PyTorch's side of the comparison (compare_pytorch.sh runs it; xtrain_epoch.cpp is the other side).

Trains torch.nn.Sequential(Linear(784, 256), ReLU(), Linear(256, 10)) with cross-entropy and plain
SGD for one epoch of Fashion-MNIST's training set and prints the epoch's wall time. It starts from
the parameters xtrain wrote (init.f32) and visits the samples in xtrain's permutation (perm.i64),
so both sides compute the same thing; --losses writes the first 20 batch losses for the check.

The loop is the fastest plain PyTorch loop: the data are one tensor in memory and a batch is an
index_select of its rows (a DataLoader, which collates sample by sample, would be several times
slower at small batches and would not be a fair baseline).
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find(directory, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    sys.exit("torch_epoch.py: %s(.gz) not found in %s (apt-get install dataset-fashion-mnist)" % (stem, directory))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--dump", required=True, help="the directory xtrain_epoch --dump wrote")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--losses", default="")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    if a.batch <= 0:
        p.error("--batch must be > 0")
    torch.set_num_threads(a.threads)

    images = read_idx(find(a.data, "train-images-idx3-ubyte"))
    labels = read_idx(find(a.data, "train-labels-idx1-ubyte"))
    if a.limit > 0:
        images, labels = images[: a.limit], labels[: a.limit]
    # pixel / 255 in float32: the same rounding as xtrain's reader (and torchvision's ToTensor).
    x_all = torch.from_numpy(images.reshape(len(images), 784).astype(np.float32) / np.float32(255.0))
    y_all = torch.from_numpy(labels.astype(np.int64))
    perm = torch.from_numpy(np.fromfile(os.path.join(a.dump, "perm.i64"), dtype="<i8"))
    if perm.numel() != len(images):
        sys.exit("torch_epoch.py: perm.i64 holds %d indices for %d samples (dump made with another --limit?)"
                 % (perm.numel(), len(images)))

    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    init = torch.from_numpy(np.fromfile(os.path.join(a.dump, "init.f32"), dtype="<f4"))
    with torch.no_grad():
        offset = 0
        for t in model.parameters():  # 0.weight, 0.bias, 2.weight, 2.bias: xtrain's segment order
            t.copy_(init[offset: offset + t.numel()].view_as(t))
            offset += t.numel()
    assert offset == init.numel(), "init.f32 does not match the model"
    opt = torch.optim.SGD(model.parameters(), lr=a.lr)

    losses = []
    n, b = len(images), a.batch
    start, cpu_start = time.perf_counter(), time.process_time()
    for first in range(0, n, b):
        idx = perm[first: first + b]
        x = x_all.index_select(0, idx)
        y = y_all.index_select(0, idx)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())  # xtrain's history records every batch loss too
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    if a.losses:
        with open(a.losses, "w") as f:
            f.writelines("%.9g\n" % v for v in losses[:20])
    print("torch batch=%d samples=%d steps=%d epoch_seconds=%.6f cpu_seconds=%.6f last_loss=%.6f"
          % (b, n, len(losses), seconds, cpu_seconds, losses[-1]))


if __name__ == "__main__":
    main()
