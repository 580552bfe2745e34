#!/usr/bin/env python3
"""One Markdown row per `cpae-mpi bench train --peer --rounds R --json` file: ours / PyTorch for each
(threads, objective) as the median over the rounds with the lowest round in brackets, then the
2-thread speed-up over 1 thread from the separate runs and from the steps alternated in one process,
and (files from 2026-12-06 12:30 UTC on) the host's own 2-thread speed-up in those alternated cycles
(`HostCapacityProbe`) with the step's share of it, cycle by cycle.

The README's speed table is this script's output, so its numbers are the files' and not copied by
hand:

    python3 tools/summarize_bench_train.py docs/measurements/bench-train-peer-*rounds*.json

Needs only the standard library.
"""
import json
import os
import re
import sys

OBJECTIVES = ("reconstruction", "reference")


def cell(ratio):
    return f"{ratio['median']:.2f}× ({ratio['min']:.2f})"


def row(path):
    with open(path) as f:
        d = json.load(f)
    s = d.get("summary")
    if not s:
        raise SystemExit(f"{path}: no 'summary' (run bench train with --rounds 2 or more)")
    ratios = {(c["threads"], c["objective"]): c["ratio"] for c in s["configurations"]}
    name = os.path.basename(path)
    stamp = re.search(r"(\d{4}-\d{2}-\d{2})(T(\d{2})(\d{2}))?", name)
    when = stamp.group(1) + (f" {stamp.group(3)}:{stamp.group(4)}" if stamp.group(2) else "") if stamp else "?"
    kernels = "AVX2 stand-in" if "avx2" in name else d.get("host", {}).get("blas_core", "?")
    cells = [cell(ratios[(t, o)]) if (t, o) in ratios else "—" for t in (1, 2) for o in OBJECTIVES]

    def speedups(key):
        by = {x["objective"]: x["speedup"]["median"] for x in s.get(key) or [] if x.get("threads") == 2}
        return " / ".join(f"{by[o]:.2f}×" if o in by else "—" for o in OBJECTIVES)

    def host():
        by = {x["objective"]: x for x in s.get("alternated_speedups") or []
              if x.get("threads") == 2 and x.get("host_speedup")}
        return " / ".join(f"{by[o]['host_speedup']['median']:.2f}× ({by[o]['of_host']['median']:.2f})" if o in by else "—"
                          for o in OBJECTIVES)

    return (f"| {when} | {kernels} | {s['rounds']} | " + " | ".join(cells) +
            f" | {speedups('speedups')} | {speedups('alternated_speedups')} | {host()} | `{name}` |")


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    print("| run (UTC) | kernels | rounds | 1 thread, reconstruction | 1 thread, reference "
          "| 2 threads, reconstruction | 2 threads, reference | 2 over 1 thread, separate runs "
          "| 2 over 1, alternated | the host's own 2 over 1 (the step's share) | file |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for p in sorted(sys.argv[1:], key=lambda p: re.sub(r".*(\d{4}-\d{2}-\d{2}(T\d{4})?).*", r"\1", os.path.basename(p))):
        print(row(p))


if __name__ == "__main__":
    main()
