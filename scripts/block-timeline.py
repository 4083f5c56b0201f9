#!/usr/bin/env python3
"""Reads the FAIL lines of a GPU test program's log run with the NCCLEP_BLOCK_TIMELINE kernels
(tests/NcclEp.GpuTests/BlockTimeline.cs) and prints, per failed case and rank, each kernel's span: when its first
block started and its last block ended, in ms after the case's first block started. A kernel that starts long after
the same rank's previous kernel ended was held back before any of its blocks ran.

    python3 scripts/block-timeline.py <log>
"""
import re
import sys

KERNEL = re.compile(r" (update|offsets|dispatch odd|combine odd|dispatch even|combine even)(?: \(seq \d+\))?((?: (?:both|send|receive): [^;]*;)+)")
ROLE = re.compile(r"(both|send|receive): (\d+), ([-0-9.]+)\.\.([-0-9.]+), ([-0-9.a-zA-Z]+)\.\.([-0-9.a-zA-Z]+)")
SHORT = {"update": "U", "offsets": "O", "dispatch odd": "D1", "combine odd": "C1", "dispatch even": "D2", "combine even": "C2"}


def spans(timeline):
    parts = re.split(r" rank (\d+):", timeline)
    for i in range(1, len(parts), 2):
        rank, kernels = int(parts[i]), []
        for k in KERNEL.finditer(parts[i + 1]):
            roles = ROLE.findall(k.group(2))
            start = min(float(r[2]) for r in roles)
            ends = [float(r[5]) for r in roles if r[5] not in ("NaN", "nan")]
            kernels.append((SHORT[k.group(1)], start, max(ends) if ends else None))
        yield rank, kernels


def main(path):
    for line in open(path, encoding="utf-8"):
        if not line.startswith("FAIL") or "block timeline" not in line:
            continue
        print(line.split(":")[0])
        for rank, kernels in spans(line[line.index("block timeline"):]):
            cells = [f"{name} {start:.2f}-{'?' if end is None else f'{end:.2f}'}" for name, start, end in kernels]
            print(f"  rank {rank}: " + "  ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1])
