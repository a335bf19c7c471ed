#!/usr/bin/python3
"""Streams a raw little-endian float32 (or int32) matrix as COPY text.

usage: f32_to_copy.py FILE DIM [--limit N] [--int]
FILE may be xz-compressed (.xz). Each output line is "<row>\t[x1,...]" (a
vector literal), or "<row>\t{i1,...}" (an int[] literal) with --int; rows are
numbered from 0. Exits non-zero on any error, so that COPY ... FROM PROGRAM
fails loudly instead of loading nothing.
"""
import lzma
import sys

import numpy as np


def main():
    path = sys.argv[1]
    dim = int(sys.argv[2])
    limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
    as_int = "--int" in sys.argv
    dtype = np.int32 if as_int else np.float32
    opener = lzma.open if path.endswith(".xz") else open
    row = 0
    with opener(path, "rb") as f:
        while limit is None or row < limit:
            chunk = f.read(dim * 4 * 1024)
            if not chunk:
                break
            m = np.frombuffer(chunk, dtype=dtype).reshape(-1, dim)
            if limit is not None:
                m = m[: limit - row]
            if as_int:
                lines = ["%d\t{%s}\n" % (row + i, ",".join(map(str, r.tolist()))) for i, r in enumerate(m)]
            else:
                lines = ["%d\t[%s]\n" % (row + i, ",".join(map(repr, r.tolist()))) for i, r in enumerate(m)]
            sys.stdout.write("".join(lines))
            row += len(m)
    if row == 0:
        sys.exit("f32_to_copy: no rows in " + path)


if __name__ == "__main__":
    main()
