#!/usr/bin/env python3
"""Writes the seed corpus of xtrain's fuzz targets: tests/fuzz/corpus/fuzz_idx and fuzz_csv.

Run by hand after changing the inputs below (standard library only; the output is deterministic,
gzip members carry no time stamp):
    python3 tests/fuzz/make_corpus.py

Each file is one input as the target reads it: a first byte choosing the entry point (fuzz_idx)
or the options (fuzz_csv), then the file or table (see the comments at the top of fuzz_idx.cpp and
fuzz_csv.cpp). A name starting with accept- is an input the reader must accept, refuse- one it
must refuse; the replay test (ctest "fuzz corpus: <target>") checks both, and every invariant of the
target. scripts/fuzz.sh starts libFuzzer from a copy of these folders.
"""
import gzip
import os
import shutil
import struct

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
