#!/usr/bin/env python3
"""Writes the seed corpus of xtrain's fuzz targets: tests/fuzz/corpus/fuzz_idx, fuzz_csv, fuzz_checkpoint,
fuzz_parameters and fuzz_run_transfer.

Run by hand after changing the inputs below (standard library only; the output is deterministic,
gzip members carry no time stamp):
    python3 tests/fuzz/make_corpus.py

Each file is one input as the target reads it: a first byte choosing the entry point (fuzz_idx)
or the options (fuzz_csv) or whether to re-seal the CRC (fuzz_checkpoint), then the file, table or
checkpoint (see the comments at the top of fuzz_idx.cpp, fuzz_csv.cpp and fuzz_checkpoint.cpp). The
checkpoints are written here by the format of Trainer::save_state, for the target's fixed trainer. A name starting with accept- is an input the reader must accept, refuse- one it
must refuse; the replay test (ctest "fuzz corpus: <target>") checks both, and every invariant of the
target. scripts/fuzz.sh starts libFuzzer from a copy of these folders.
"""
import gzip
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def idx(type_code, shape, payload):
    """An IDX file: magic (0, 0, type, rank), big-endian extents, then the payload."""
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + payload


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


IMAGES = idx(0x08, [2, 2, 2], bytes([0x00, 0x10, 0x80, 0xFF, 0x01, 0x02, 0x03, 0x04]))
LABELS = idx(0x08, [2], bytes([0, 1]))


def pair(images, labels):
    """Mode 2: the split byte s puts the label file at s * n // 256 of the n bytes after the mode byte."""
    n = 1 + len(images) + len(labels)
    s = -(-len(images) * 256 // n)  # ceil
    assert s < 256 and s * n // 256 == len(images)
    return bytes([2, s]) + images + labels


def idx_inputs():
    f32 = struct.pack(">ff", 1.5, -1.0)
    f64 = struct.pack(">ddd", -0.25, float("inf"), float("nan"))
    huge = idx(0x08, [0xFFFFFFFF, 0xFFFF, 0xFFFF], b"")
    zero_but_wide = idx(0x08, [0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], b"")
    crc_flipped = bytearray(gz(IMAGES))
    crc_flipped[-6] ^= 0xFF  # inside the trailer's CRC-32
    return {
        # Accepted: each element type, plain and gzip, each entry point.
        "accept-m0-images-u8": b"\x00" + IMAGES,
        "accept-m1-images-gz": b"\x01" + gz(IMAGES),
        "accept-m3-images-file": b"\x03" + IMAGES,
        "accept-m3-images-gz-file": b"\x03" + gz(IMAGES),
        "accept-m0-f32": b"\x00" + idx(0x0D, [1, 2], f32),
        "accept-m1-f64-inf-nan": b"\x01" + idx(0x0E, [3], f64),
        "accept-m1-i16": b"\x01" + idx(0x0B, [2], struct.pack(">hh", -2, 300)),
        "accept-m0-i32": b"\x00" + idx(0x0C, [1, 2], struct.pack(">ii", -1, 65536)),
        "accept-m1-i8": b"\x01" + idx(0x09, [3], bytes([0xFD, 0x00, 0x7F])),
        "accept-m0-empty-extent": b"\x00" + idx(0x08, [0, 5], b""),
        "accept-m1-two-gzip-members": b"\x01" + gz(IMAGES[:10]) + gz(IMAGES[10:]),
        "accept-m2-pair": pair(IMAGES, LABELS),
        "accept-m2-pair-gz-images": pair(gz(IMAGES), LABELS),
        # Refused: each kind of damage.
        "refuse-m0-short-header": b"\x00" + IMAGES[:3],
        "refuse-m0-wrong-magic": b"\x00" + b"\x01" + IMAGES[1:],
        "refuse-m1-unknown-type": b"\x01" + bytes([0, 0, 0x07]) + IMAGES[3:],
        "refuse-m1-truncated-data": b"\x01" + IMAGES[:-3],
        "refuse-m0-bytes-after-data": b"\x00" + IMAGES + b"\x00\x00",
        "refuse-m1-huge-extents": b"\x01" + huge,
        "refuse-m3-huge-extents-gz-file": b"\x03" + gz(huge),
        "refuse-m0-inner-extents-overflow": b"\x00" + zero_but_wide,
        "refuse-m0-gzip-bad-crc": b"\x00" + bytes(crc_flipped),
        "refuse-m3-gzip-truncated-file": b"\x03" + gz(IMAGES)[:-4],
        "refuse-m1-gzip-trailing-garbage": b"\x01" + gz(IMAGES) + b"xy",
        "refuse-m2-count-mismatch": pair(IMAGES, idx(0x08, [3], bytes([0, 1, 2]))),
        "refuse-m2-labels-as-images": pair(LABELS, LABELS),
        "refuse-m2-empty-images": pair(idx(0x08, [0, 2, 2], b""), idx(0x08, [0], b"")),
    }


def csv_inputs():
    # The options byte: bits 0-1 delimiter (, ; tab space), 4 regression, 8 label_names, 16 label 0,
    # 32 label "y", 64 ignore "id", 128 num_classes 3.
    return {
        "accept-classes": b"\x00a,b,y\n1.5,2,0\n-3e2,4,1\n",
        "accept-regression": b"\x04a,b,y\n1.5,2,0.25\n3,4,-1\n",
        "accept-names-semicolon-crlf": b'\x29id;"x; 1";y\r\n7;"2";"cat"\r\n8;3;dog\r\n',
        "accept-ignore-id-blank-line": b'\x40id,x,y\n1,+2.5,1\n\n2,"3",0\n',
        "accept-tab-label-first": b"\x12y\tx1\tx2\n0\t1\t2\n2\t3\t4\n",
        "accept-space-delimited": b"\x03a b y\n1 2 0\n3 4 1\n",
        "accept-bom-quoted-names": b'\x08\xef\xbb\xbfa,b\n1,"x ""y""\nz"\n2, w \n3,"x ""y""\nz"\n',
        "accept-num-classes": b"\x80a,y\n1,0\n2,2\n",
        "accept-float-range": b"\x00a,y\n3.4e38,0\n-1e-30,1\n",
        "refuse-not-a-number": b"\x00a,b,y\n1,2,0\n3,abc,1\n",
        "refuse-missing-value": b"\x00a,b,y\n1,,0\n",
        "refuse-field-count": b"\x00a,b,y\n1,2,0\n1,2\n",
        "refuse-unclosed-quote": b'\x00a,b,y\n1,"2,0\n',
        "refuse-label-not-an-index": b"\x00a,y\n1,1.5\n",
        "refuse-label-over-num-classes": b"\x80a,y\n1,3\n",
        # A label far beyond the labels in use: refused, not a 300 000 001-class dataset (found by libFuzzer).
        "refuse-label-far-beyond-distinct": b"\x10a,y\n3e8,5",
        "accept-label-255-of-two": b"\x00a,y\n1,0\n2,255\n",
        "refuse-empty-table": b"\x00",
        "refuse-header-only": b"\x00a,b,y\n",
        "refuse-nan-feature": b"\x04a,y\nnan,1\n",
        "refuse-float-overflow": b"\x00a,y\n1e300,0\n",
        "refuse-unknown-label-column": b"\x20a,b\n1,2\n",
        "refuse-label-ignored": b"\x50id,x\n1,2\n",
        "refuse-no-feature-column": b"\x00y\n1\n2\n",
    }


def u8(v): return struct.pack("<B", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def f64(v): return struct.pack("<d", v)
def string(s): return u64(len(s)) + s.encode()
def f64_array(values): return u64(len(values)) + b"".join(f64(v) for v in values)


NAN = float("nan")
PARAMS = 15  # fuzz_checkpoint's model: Softmax, 4 features, 3 classes: weight (3, 4) and bias (3)


def checkpoint(step=0, epoch=0, examples=0, in_epoch=False, batches=0, status=0, message="", since_eval=0,
               opt_steps=None, opt_count=None, position=0, sampler_epoch=0, steps=(), evals=(), crc=None):
    """A checkpoint as Trainer::save_state writes it for fuzz_checkpoint's trainer (24 samples, batches of 8)."""
    opt_steps = step if opt_steps is None else opt_steps
    opt_count = opt_steps if opt_count is None else opt_count
    b = b"XTRAINCK" + u32(1)
    b += string("layout") + u32(8) + u64(2) + string("weight") + u64(2) + u64(3) + u64(4)
    b += string("bias") + u64(1) + u64(3)
    b += string("counters") + u64(step) + u64(epoch) + u64(examples) + u8(in_epoch) + u64(batches) + u8(status)
    b += string(message) + f64(0.5 * since_eval) + u64(since_eval) + f64(0.5 if step else NAN) + f64(0.25 * step)
    b += string("parameters") + f64_array([0.01 * (i - 7) for i in range(PARAMS)])
    b += string("optimizer") + string("xtrain::Optimizer") + string("SGD") + f64(0.1) + u64(opt_count)
    b += string("float") + u8(0) + string("double")
    if opt_steps:
        b += u8(1) + u64(PARAMS) + u64(opt_steps) + string("momentum_buffer") + f64_array([0.001 * i for i in range(PARAMS)])
    else:
        b += u8(0)
    b += string("sampler") + string("xtrain.BatchSampler") + u32(2) + u64(24) + u64(8) + u8(1) + u8(0) + u64(7)
    b += u64(sampler_epoch) + u64(position) + u64(8) + u64(8)
    b += string("model") + string("callbacks")
    b += string("early_stopping") + u8(1 if evals else 0) + f64(-0.5 if evals else -float("inf")) + u64(0)
    b += u64(evals[0][1] if evals else 0)
    b += string("history") + u64(len(steps))
    for s, e, x in steps:
        b += u64(s) + u64(e) + u64(x) + f64(0.5) + f64(0.1) + f64(0.25 * s)
    b += u64(len(evals))
    for e, s, x in evals:
        b += u64(e) + u64(s) + u64(x) + f64(0.5) + f64(NAN) + f64(NAN) + f64(0.1) + f64(0.25 * s)
    return b + u32(zlib.crc32(b) if crc is None else crc)


def checkpoint_inputs():
    """Mode byte 1: the target re-seals the CRC first; 0: the bytes are loaded as they are."""
    mid = dict(step=4, epoch=1, examples=32, in_epoch=True, batches=1, since_eval=1, position=8, sampler_epoch=1,
               steps=[(1, 0, 8), (2, 0, 16), (3, 0, 24), (4, 1, 32)], evals=[(1, 3, 24)])
    done = dict(step=6, epoch=2, examples=48, batches=3, status=2, position=24, sampler_epoch=1,
                steps=[(s, (s - 1) // 3, 8 * s) for s in range(1, 7)], evals=[(1, 3, 24), (2, 6, 48)])

    def edit(base, **changes):
        d = dict(base)
        d.update(changes)
        return checkpoint(**d)

    return {
        "accept-fresh": b"\x00" + checkpoint(),
        "accept-mid-epoch": b"\x01" + checkpoint(**mid),
        "accept-mid-epoch-unsealed": b"\x00" + checkpoint(**mid),
        "accept-finished": b"\x01" + checkpoint(**done),
        "accept-stopped": b"\x01" + edit(done, status=3, message="no improvement for 3 evaluations"),
        "refuse-not-a-checkpoint": b"\x01XTRAINCX" + bytes(8),
        "refuse-bad-crc": b"\x00" + checkpoint(**mid, crc=1),
        "refuse-epoch-beyond-step": b"\x01" + edit(mid, epoch=4294967295),
        "refuse-examples-mismatch": b"\x01" + edit(mid, examples=33),
        "refuse-status-running": b"\x01" + edit(mid, status=1),
        "refuse-cursor-between-batches": b"\x01" + edit(mid, position=4),
        "refuse-sampler-epoch": b"\x01" + edit(mid, sampler_epoch=0),
        "refuse-optimizer-steps": b"\x01" + edit(mid, opt_count=5),
        "refuse-history-out-of-order": b"\x01" + edit(mid, steps=[(1, 0, 8), (3, 0, 16), (2, 0, 24), (4, 1, 32)]),
        "refuse-history-beyond-step": b"\x01" + edit(mid, steps=[(1, 0, 8), (2, 0, 16), (3, 0, 24), (5, 1, 32)]),
    }


def parameters(tensors, scalar=8, version=1, crc=None, magic=b"XTRAINPF"):
    """A parameters file (save_parameters): magic, version, the section and, per tensor, name,
    shape and values (doubles unless scalar says otherwise), then the CRC-32."""
    b = magic + u32(version) + string("parameters") + u32(scalar) + u64(len(tensors))
    for name, shape in tensors:
        n = 1
        for d in shape:
            n *= d
        b += string(name) + u64(len(shape)) + b"".join(u64(d) for d in shape) + u64(n)
        b += b"".join(f64(0.01 * (i + 1)) if scalar == 8 else struct.pack("<f", 0.01 * (i + 1)) for i in range(n))
    return b + u32(zlib.crc32(b) if crc is None else crc)


def parameters_inputs():
    """Mode byte: bit 0 re-seals the CRC, bit 1 a partial load, bit 2 excludes the head ("2.*").
    The target's model: 0.weight (3, 2), 0.bias (3), 2.weight (2, 3), 2.bias (2), doubles."""
    model = [("0.weight", [3, 2]), ("0.bias", [3]), ("2.weight", [2, 3]), ("2.bias", [2])]
    new_head = [("0.weight", [3, 2]), ("0.bias", [3]), ("2.weight", [5, 3]), ("2.bias", [5])]
    return {
        "accept-whole": b"\x00" + parameters(model),
        "accept-reordered": b"\x00" + parameters(model[::-1]),
        "accept-body-without-head": b"\x04" + parameters(new_head),
        "accept-partial-other-head": b"\x02" + parameters(new_head),
        "accept-partial-body-only": b"\x02" + parameters(model[:2]),
        "refuse-other-head": b"\x00" + parameters(new_head),
        "refuse-missing-tensor": b"\x00" + parameters(model[:3]),
        "refuse-extra-tensor": b"\x00" + parameters(model + [("4.weight", [1, 1])]),
        "refuse-float": b"\x00" + parameters(model, scalar=4),
        "refuse-version-2": b"\x00" + parameters(model, version=2),
        "refuse-bad-crc": b"\x00" + parameters(model, crc=1),
        "refuse-not-parameters": b"\x01XTRAINPX" + bytes(16),
        "refuse-duplicate": b"\x00" + parameters(model + [("0.bias", [3])]),
        "refuse-truncated-values": b"\x01" + parameters(model)[:-12] + bytes(4),
        "refuse-empty": b"\x01",
    }


def run_spec(index=5, optimizer="sgd", lr=0.1, batch=16, seed=1, schedule="", indices=(0, 1, 0, 1, 0),
             version=1, magic=b"XTRAINRS", crc=None):
    """The bytes of encode_run_spec: the fields of RunSpec::visit, then a CRC-32."""
    body = (magic + u32(version) + u64(index) + string(optimizer) + f64(lr) + u64(batch) + u64(seed)
            + string(schedule) + b"".join(u64(i) for i in indices))
    return body + u32(zlib.crc32(body) if crc is None else crc)


def eval_row(step, accuracy):
    return (f64(step / 100) + u64(step) + u64(16 * step) + f64(2.3 - step / 100) + f64(2.4 - step / 100)
            + f64(accuracy) + f64(0.1) + f64(step / 1000))


def run_report(rows=2, hit=True, result=0, note="", error="", interrupted=False, version=1, magic=b"XTRAINRR",
               crc=None):
    """The bytes of encode_run_report: the rows (EvalRow::visit), an optional TargetHit, an optional
    RunResult (status u8: 0 finished, 1 diverged, 3 stalled), the error text, the interruption flag."""
    body = magic + u32(version) + u64(rows) + b"".join(eval_row(10 * (k + 1), 0.5 + 0.1 * k) for k in range(rows))
    body += u8(1) + f64(0.15) + u64(15) + u64(240) + f64(0.01) + u64(5) if hit else u8(0)
    if result is None:
        body += u8(0)
    else:
        body += u8(1) + u8(result) + string(note) + f64(float("nan")) + f64(float("nan")) + f64(0.02) + f64(0.0)
        body += u64(0) + string("")
    body += string(error) + u8(1 if interrupted else 0)
    return body + u32(zlib.crc32(body) if crc is None else crc)


def run_transfer_inputs():
    """Mode byte: bit 0 re-seals the CRC, bit 1 reads a run spec instead of a run report."""
    return {
        "accept-spec": b"\x02" + run_spec(),
        "accept-spec-schedule": b"\x02" + run_spec(schedule="cosine", lr=3e-4, batch=2048),
        "accept-report-finished": b"\x00" + run_report(),
        "accept-report-diverged": b"\x00" + run_report(rows=1, hit=False, result=1, note="loss inf at step 10"),
        "accept-report-failed": b"\x00" + run_report(rows=0, hit=False, result=None, error="out of memory"),
        "accept-report-interrupted": b"\x00" + run_report(rows=1, hit=False, result=None, interrupted=True),
        "accept-report-unsealed": b"\x01" + run_report(crc=0),
        "refuse-spec-as-report": b"\x00" + run_spec(),
        "refuse-report-as-spec": b"\x02" + run_report(),
        "refuse-bad-crc": b"\x00" + run_report(crc=1),
        "refuse-version-2": b"\x00" + run_report(version=2),
        "refuse-unknown-outcome": b"\x00" + run_report(result=7),
        "refuse-result-and-error": b"\x00" + run_report(error="and an error"),
        "refuse-nothing": b"\x00" + run_report(result=None),
        # A NUL would cut the message the report's error becomes (an exception's what()).
        "refuse-nul-in-error": b"\x00" + run_report(rows=0, hit=False, result=None, error="out\0of memory"),
        "refuse-too-many-rows": b"\x01" + run_report(rows=2)[:12] + u64(1 << 40) + run_report(rows=2)[20:],
        "refuse-truncated": b"\x01" + run_report()[:40] + bytes(4),
        "refuse-empty": b"\x01",
    }


def write(target, inputs):
    folder = os.path.join(HERE, "corpus", target)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, data in sorted(inputs.items()):
        assert len(data) <= 4096, name
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    print("%s: %d inputs in %s" % (target, len(inputs), os.path.relpath(folder)))


if __name__ == "__main__":
    write("fuzz_idx", idx_inputs())
    write("fuzz_csv", csv_inputs())
    write("fuzz_checkpoint", checkpoint_inputs())
    write("fuzz_parameters", parameters_inputs())
    write("fuzz_run_transfer", run_transfer_inputs())
