#!/usr/bin/env python3
"""Reads a GPU test program's output run with the NCCLEP_BLOCK_TIMELINE kernels (scripts/kernel-variant.sh) and,
for each case where a block waited or started late, prints when each rank's sending and receiving blocks of each
operation started and ended, in ms after the case's first block started, with the SMs they ran on.

    python3 scripts/block-timeline.py <log> [--all] [--late-ms 100] [--world 4]

A case is the run of lines until a (kernel, rank, seq, block) repeats or a fifth window appears; a FAIL line of the
program belongs to the case before it.
"""
import re
import sys
from collections import defaultdict

LINE = re.compile(r"timeline (\w+) window ([0-9a-f]+) rank (\d+) seq (\d+) block (\d+) (\w+) sm (\d+) start (\d+) end (\d+)")


def cases(lines, world):
    current, seen, windows = [], set(), set()
    failure = None
    for line in lines:
        if line.startswith("FAIL"):
            failure = line.strip()
            yield current, failure
            current, seen, windows, failure = [], set(), set(), None
            continue
        m = LINE.search(line)
        if not m:
            continue
        kernel, window, rank, seq, block, role, sm, start, end = m.groups()
        key = (kernel, int(rank), int(seq), int(block))
        if current and (key in seen or (window not in windows and len(windows) >= world)):
            yield current, None
            current, seen, windows = [], set(), set()
        seen.add(key)
        windows.add(window)
        current.append((kernel, int(rank), int(seq), int(block), role, int(sm), int(start), int(end)))
    if current:
        yield current, None


def report(blocks, failure, late_ms, show_all):
    t0 = min(b[6] for b in blocks)
    ms = lambda t: (t - t0) / 1e6
    worst = max(max(ms(b[6]), (b[7] - b[6]) / 1e6) for b in blocks)
    if not show_all and worst < late_ms and failure is None:
        return False
    print(failure or "case (passed)")
    groups = defaultdict(list)
    for kernel, rank, seq, block, role, sm, start, end in blocks:
        groups[(kernel, seq, rank, role)].append((block, sm, start, end))
    for (kernel, seq, rank, role), items in sorted(groups.items()):
        starts = [ms(s) for _, _, s, _ in items]
        ends = [ms(e) for _, _, _, e in items]
        late = sorted(b for b, _, s, _ in items if ms(s) - min(starts) > late_ms)
        sms = sorted({sm for _, sm, _, _ in items})
        print(f"  {kernel} seq {seq} rank {rank} {role:7} blocks {len(items):3}: start {min(starts):9.3f}..{max(starts):9.3f}"
              f"  end {min(ends):9.3f}..{max(ends):9.3f}  late blocks {late if late else '-'}  SMs {sms[:6]}{'...' if len(sms) > 6 else ''}")
    return True


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    show_all = "--all" in args
    late_ms = float(args[args.index("--late-ms") + 1]) if "--late-ms" in args else 100.0
    world = int(args[args.index("--world") + 1]) if "--world" in args else 4
    with open(args[0], errors="replace") as f:
        lines = f.readlines()
    shown = total = 0
    for blocks, failure in cases(lines, world):
        if not blocks:
            if failure:
                print(failure + "\n  (no timeline lines)")
            continue
        total += 1
        shown += report(blocks, failure, late_ms, show_all)
    print(f"{total} cases with timeline lines, {shown} shown")
    return 0


if __name__ == "__main__":
    sys.exit(main())
