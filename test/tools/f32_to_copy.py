#!/usr/bin/python3
"""Streams a raw little-endian float32 (or int32) matrix from stdin as COPY text.

usage: xz -dc base.f32.xz | f32_to_copy.py DIM [--limit N] [--int]
Each output line is "<row number>\t[x1,x2,...]" (or "<row>\t{i1,...}" with --int,
an int[] literal), row numbers starting at 0.
"""
import sys

import numpy as np


def main():
    dim = int(sys.argv[1])
    limit = None
    as_int = "--int" in sys.argv
    if "--limit" in sys.argv:
        limit = int(sys.argv[sys.argv.index("--limit") + 1])
    dtype = np.int32 if as_int else np.float32
    row_bytes = dim * 4
    out = sys.stdout
    row = 0
    while limit is None or row < limit:
        chunk = sys.stdin.buffer.read(row_bytes * 1024)
        if not chunk:
            break
        m = np.frombuffer(chunk, dtype=dtype).reshape(-1, dim)
        lines = []
        for r in m:
            if limit is not None and row >= limit:
                break
            if as_int:
                lines.append("%d\t{%s}\n" % (row, ",".join(str(int(x)) for x in r)))
            else:
                lines.append("%d\t[%s]\n" % (row, ",".join(repr(float(x)) for x in r)))
            row += 1
        out.write("".join(lines))


if __name__ == "__main__":
    main()
