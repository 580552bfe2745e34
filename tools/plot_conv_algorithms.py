#!/usr/bin/env python3
"""Compares the loss curves of `cpae-mpi train-ae` runs that differ only in the convolution algorithm
or the seed (tools/compare_conv_algorithms.sh makes them):

  a: --conv-algorithm direct   --seed 0   (reference)
  b: --conv-algorithm winograd --seed 0   (same initialisation and batches as a, other rounding)
  c: --conv-algorithm direct   --seed 1   (the seed-to-seed noise scale)
  optional controls, the same pair at two more seeds:
  d: --conv-algorithm winograd --seed 1
  e: --conv-algorithm direct   --seed 2
  f: --conv-algorithm winograd --seed 2

The algorithm difference is |loss_a − loss_b| (and |c − d|, |e − f|), the noise scale |loss_a − loss_c|
(and |a − e|, |c − e|), on the total loss (metrics.jsonl `loss`) after a trailing running mean over
--window steps (the mean of steps max(1, s−w+1)…s). Prints a table (max and mean of each difference,
smoothed and per step; the first step each exceeds 1% relative; the steps where the smoothed |a − b|
exceeds |a − c|), each run's final-window mean loss, median step time and Winograd layers
(config.json `convolutions`), and draws the figure: total loss against step (log y) over the smoothed
differences (log y). --json writes the numbers.

Usage:
  python3 tools/plot_conv_algorithms.py --a RUN_A --b RUN_B --c RUN_C [--d RUN_D --e RUN_E --f RUN_F] \
      --out FIG.png [--window 20] [--host "CPU name"] [--json summary.json] [--repeat RUN_A2]
"""
import argparse
import json
import os
import statistics
import sys

NAMES = {"a": ("direct", 0), "b": ("winograd", 0), "c": ("direct", 1),
         "d": ("winograd", 1), "e": ("direct", 2), "f": ("winograd", 2)}
ALGORITHM_PAIRS = [("a", "b"), ("c", "d"), ("e", "f")]
SEED_PAIRS = [("a", "c"), ("a", "e"), ("c", "e")]


def read_run(directory):
    with open(os.path.join(directory, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    records = [r for r in records if "step" in r and "loss" in r]
    records.sort(key=lambda r: r["step"])
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    return records, config


def running_mean(values, window):
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def first_step_over(steps, ref, other, threshold):
    for s, x, y in zip(steps, ref, other):
        if abs(x - y) > threshold * abs(x):
            return s
    return None


def winograd_layers(config):
    return sorted(name for name, algo in config.get("convolutions", {}).items() if algo == "winograd")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k, (algo, seed) in NAMES.items():
        p.add_argument(f"--{k}", required=k in "abc", help=f"run dir: {algo}, seed {seed}")
    p.add_argument("--repeat", help="optional run dir: direct, seed 0 again (run-to-run determinism)")
    p.add_argument("--out", required=True, help="figure path (.png)")
    p.add_argument("--window", type=int, default=20, help="running-mean window in steps (default 20)")
    p.add_argument("--host", default="", help="host description for the title")
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args()

    keys = [k for k in NAMES if getattr(args, k)]
    runs = {k: read_run(getattr(args, k)) for k in keys}
    steps = [r["step"] for r in runs["a"][0]]
    for k, (records, _) in runs.items():
        if [r["step"] for r in records] != steps:
            sys.exit(f"run {k}: steps differ from run a's ({len(records)} against {len(steps)} records)")
    n, w = len(steps), args.window
    loss = {k: [r["loss"] for r in records] for k, (records, _) in runs.items()}
    smooth = {k: running_mean(v, w) for k, v in loss.items()}
    pairs = [(x, y) for x, y in ALGORITHM_PAIRS + SEED_PAIRS if x in loss and y in loss]
    cols = [f"{x}-{y}" for x, y in pairs]
    sm_diff = {f"{x}-{y}": [abs(u - v) for u, v in zip(smooth[x], smooth[y])] for x, y in pairs}
    raw_diff = {f"{x}-{y}": [abs(u - v) for u, v in zip(loss[x], loss[y])] for x, y in pairs}
    final = {k: statistics.fmean(v[-w:]) for k, v in loss.items()}
    step_time = {k: statistics.median(r["step_seconds"] for r in records[1:] if "step_seconds" in r)
                 for k, (records, _) in runs.items()}
    d_ab, d_ac = sm_diff["a-b"], sm_diff["a-c"]

    summary = {
        "steps": n, "window": w, "host": args.host,
        "runs": {k: {"conv_algorithm": NAMES[k][0], "seed": NAMES[k][1], "dir": getattr(args, k)} for k in keys},
        "smoothed_abs_diff": {c: {"max": max(v), "mean": statistics.fmean(v)} for c, v in sm_diff.items()},
        "per_step_abs_diff": {c: {"max": max(v), "mean": statistics.fmean(v)} for c, v in raw_diff.items()},
        "first_step_over_1pct_relative": {
            c: {"per_step": first_step_over(steps, loss[x], loss[y], 0.01),
                "smoothed": first_step_over(steps, smooth[x], smooth[y], 0.01)}
            for c, (x, y) in zip(cols, pairs)},
        "ratio_mean_smoothed_ab_over_ac": statistics.fmean(d_ab) / statistics.fmean(d_ac),
        "steps_smoothed_ab_over_ac": [s for s, x, y in zip(steps, d_ab, d_ac) if x > y],
        "first_step_a_b_differ": next((s for s, x, y in zip(steps, loss["a"], loss["b"]) if x != y), None),
        "final_window_mean_loss": final,
        "median_step_seconds": step_time,
        "config_conv_algorithm": {k: c.get("convAlgorithm") for k, (_, c) in runs.items()},
        "winograd_layers": {k: winograd_layers(c) for k, (_, c) in runs.items()},
        "layers": len(runs["a"][1].get("convolutions", {})),
    }
    if args.repeat:
        rep = [r["loss"] for r in read_run(args.repeat)[0]]
        summary["repeat_a_max_abs_diff"] = \
            max(abs(x - y) for x, y in zip(loss["a"], rep)) if len(rep) == n else None

    def fmt(x):
        return "never" if x is None else (f"{x:.3e}" if isinstance(x, float) else str(x))

    def head(c):
        x, y = c.split("-")
        kind = f"algo, s{NAMES[x][1]}" if NAMES[x][1] == NAMES[y][1] else f"seed {NAMES[x][1]}/{NAMES[y][1]}"
        return f"{x}−{y} ({kind})"

    print(f"conv-algorithm comparison: {n} steps, running mean over {w} steps; {args.host}")
    print(f"{'':32}" + "".join(f"{head(c):>18}" for c in cols))
    for label, table, f in (("max |Δ loss|, smoothed", sm_diff, max),
                            ("mean |Δ loss|, smoothed", sm_diff, statistics.fmean),
                            ("max |Δ loss|, per step", raw_diff, max),
                            ("mean |Δ loss|, per step", raw_diff, statistics.fmean)):
        print(f"{label:32}" + "".join(f"{f(table[c]):>18.3e}" for c in cols))
    fs = summary["first_step_over_1pct_relative"]
    for kind in ("per_step", "smoothed"):
        label = f"first step > 1% rel., {kind.replace('_', ' ')}"
        print(f"{label:32}" + "".join(f"{fmt(fs[c][kind]):>18}" for c in cols))
    over = summary["steps_smoothed_ab_over_ac"]
    print(f"mean smoothed |a−b| / mean smoothed |a−c|: {summary['ratio_mean_smoothed_ab_over_ac']:.3f}")
    print(f"steps where smoothed |a−b| > |a−c|: {len(over)} of {n}"
          + (f" (steps {', '.join(map(str, over))})" if over else ""))
    print(f"first step whose loss differs between a and b: {fmt(summary['first_step_a_b_differ'])}")
    print()
    print(f"{'run':22}{'final-' + str(w) + ' mean loss':>20}{'median step s':>15}  Winograd layers")
    for k in keys:
        algo, seed = NAMES[k]
        print(f"{k} {algo + ', seed ' + str(seed):20}{final[k]:>20.5f}{step_time[k]:>15.3f}  "
              f"{len(summary['winograd_layers'][k])}/{summary['layers']} "
              f"(config.json convAlgorithm: {summary['config_conv_algorithm'][k]})")
    for algo in ("direct", "winograd"):
        values = [final[k] for k in keys if NAMES[k][0] == algo]
        if len(values) > 1:
            print(f"final-{w} mean loss over {len(values)} seeds, {algo}: "
                  f"{statistics.fmean(values):.5f} ± {statistics.stdev(values):.5f} (std)")
    for x, y in ALGORITHM_PAIRS:
        if x in final and y in final:
            print(f"seed {NAMES[x][1]}: winograd − direct final-{w} mean loss {final[y] - final[x]:+.5f} "
                  f"({(final[y] - final[x]) / final[x]:+.1%})")
    if args.repeat:
        print(f"a repeated (direct, seed 0 again): max per-step |Δ loss| = {fmt(summary['repeat_a_max_abs_diff'])}")
    direct_b = sorted(set(runs["b"][1].get("convolutions", {})) - set(summary["winograd_layers"]["b"]))
    print(f"run b: Winograd in {', '.join(summary['winograd_layers']['b']) or 'no layer'}")
    print(f"run b: direct in {', '.join(direct_b) or 'no layer'}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seed_colors = {0: "tab:blue", 1: "tab:green", 2: "tab:purple"}
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.5, 8), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    for k in keys:
        algo, seed = NAMES[k]
        top.plot(steps, loss[k], "-" if algo == "direct" else "--", color=seed_colors[seed],
                 lw=1.2 if algo == "direct" else 1.4, alpha=0.9,
                 label=f"{k}: {'direct' if algo == 'direct' else 'Winograd'}, seed {seed}")
    top.set_yscale("log")
    top.set_ylabel("total loss (per step)")
    top.grid(True, which="both", alpha=0.3)
    top.legend(loc="upper right", fontsize=9, ncol=2 if len(keys) > 3 else 1)
    trainer = runs["a"][1].get("trainer", {})
    hold = trainer.get("latentHoldSteps")
    if hold is not None and hold < n:
        for ax in (top, bottom):
            ax.axvline(hold + 0.5, color="grey", ls=":", lw=1)
        lo, hi = top.get_ylim()
        top.text(hold - 1, (lo * hi) ** 0.5, "latent terms\nramp in →", va="center", ha="right",
                 fontsize=8, color="grey")
    floor = 1e-12
    for c, (x, y) in zip(cols, pairs):
        same_seed = NAMES[x][1] == NAMES[y][1]
        if same_seed:
            style, color = "-", {"a-b": "tab:red", "c-d": "tab:orange", "e-f": "tab:brown"}[c]
            label = f"|{x} − {y}|: algorithm, seed {NAMES[x][1]}"
        else:
            style, color = "--", {"a-c": "black", "a-e": "dimgrey", "c-e": "darkgrey"}[c]
            label = f"|{x} − {y}|: seed {NAMES[x][1]} vs {NAMES[y][1]}, direct"
        bottom.plot(steps, [max(v, floor) for v in sm_diff[c]], style, color=color,
                    lw=1.8 if c in ("a-b", "a-c") else 1.2, label=label)
    bottom.set_yscale("log")
    positive = [v for c in cols for v in sm_diff[c] if v > 0]
    bottom.set_ylim(bottom=max(min(positive) / 2, 1e-8))
    bottom.set_xlabel("optimizer step")
    bottom.set_ylabel(f"|Δ total loss|\n({w}-step running means)")
    bottom.grid(True, which="both", alpha=0.3)
    bottom.legend(loc="lower left", fontsize=8, ncol=2)
    title = (f"CpAE, small preset (1×32×64 damped pendulum), {n} steps, global batch "
             f"{trainer.get('globalBatch', '?')}, 1 rank × 1 thread\n"
             "direct (solid) against Winograd (dashed) convolutions, same seed = same colour")
    if args.host:
        title += f"\n{args.host}"
    fig.suptitle(title, fontsize=10.5)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
