#!/usr/bin/env python3
"""PyTorch-CPU peer of `cpae-mpi bench train`: samples/s of the phase-1 training step of the same
model (tools/cpae_torch.py's CAEHyp, default the `paper` CpAE 3x128x256, K = 12, widths 16/32/64,
decoder widths 16/32, d = 8) at batch --batch on random uniform inputs, float32, Adam lr 1e-4.

  reconstruction  E(X), D(z_X), MSE(D(z_X), X), backward, Adam step
  reference       E(X), E(Y), VPNet, D(zhat_Y), D(z_X) (the reference's order);
                  MSE(D(z_X), X) + lam * [2 * MSE(zhat_Y, z_Y) + MSE(D(zhat_Y), Y)], backward, Adam step
                  (docs/method.md §Objectives)

The continuity regularizer J is NOT computed here (ours reports its share of the step separately;
it is well under 1% at the paper size), so the peer's step is ours minus J.

Run:  python3 tools/bench_train_torch.py [--threads 1,2] [--objectives reconstruction,reference]
                                         [--batch 16] [--samples 3] [--model-config JSON] [--json]
Each (threads, objective) configuration runs in a child process of its own (this script with --one),
so the peak RSS reported is that configuration's alone: the child's getrusage(RUSAGE_SELF).ru_maxrss
at exit, MB = 10^6 bytes (interpreter and torch libraries included, as ours includes its runtime;
baseline_rss_mb is the peak after importing them, before the model exists).

Timing, as our GuardedTimer: two untimed steps, then --samples single-step timings, each taken after
the machine is quiet (other processes < 0.1 core, waiting at most 10 s) and retried up to 3 times when
others used more than 0.1 core meanwhile (/proc/stat busy time minus this process's own); the median.
With --serve (one configuration, in this process) the steps are timed one at a time on the parent's
command instead, so `cpae-mpi bench train --peer` can alternate them with its own (serve()).
Exit status: 0 ok, 2 bad arguments or a model the peer cannot build, 3 torch (or numpy) missing.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# The `paper` CpAE as ModelConfig encodes it (cpae-mpi model --preset paper prints the same keys).
PAPER = {"architecture": "cpae", "channels": 3, "height": 128, "latent": 8, "kernel": 12,
         "widths": [16, 32, 64], "decoderWidths": [16, 32], "latentWeight": 1.0}
OBJECTIVES = ("reconstruction", "reference")
QUIET_CORES = 0.1
MAX_QUIET_WAIT = 10.0
MAX_RETRIES = 3
WARMUPS = 2   # ours: one warm-up and one calibration run before timing
NOTE = "the continuity regularizer J is not computed by the PyTorch peer (its step is ours minus J)"


def fail(message, code):
    print(f"bench_train_torch.py: {message}", file=sys.stderr)
    sys.exit(code)


def import_torch():
    try:
        import numpy  # noqa: F401  (cpae_torch needs it)
        import torch
    except ImportError as e:
        fail(f"{e.name or 'torch'} is not installed ({e}); the PyTorch peer needs torch and numpy, e.g. "
             "`pip install numpy torch --index-url https://download.pytorch.org/whl/cpu`", 3)
    return torch


# --- timing guard (the same measure as Sources/Bench/GuardedTimer.swift) -------------------------

def busy_seconds():
    """Busy CPU-seconds of all cores (user + nice + system + irq + softirq + steal), None without /proc."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def snapshot():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), busy_seconds(), r.ru_utime + r.ru_stime


def other_cores(a, b):
    """Cores' worth of CPU other processes used between snapshots a and b (None if unknown)."""
    if a[1] is None or b[1] is None or b[0] <= a[0]:
        return None
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / (b[0] - a[0]))


def wait_for_quiet():
    start = time.perf_counter()
    while time.perf_counter() - start < MAX_QUIET_WAIT:
        a = snapshot()
        time.sleep(0.2)
        others = other_cores(a, snapshot())
        if others is None or others < QUIET_CORES:
            return


def guarded_sample(step):
    """One timing of one step after the machine is quiet, retried when disturbed (the least disturbed
    attempt kept). Returns (seconds, other processes' cores during it, attempts)."""
    best = None
    for attempt in range(1, MAX_RETRIES + 2):
        wait_for_quiet()
        a = snapshot()
        step()
        b = snapshot()
        others = other_cores(a, b)
        seconds, disturbance = b[0] - a[0], others or 0.0
        if best is None or disturbance < best[1]:
            best = (seconds, disturbance, attempt)
        if disturbance <= QUIET_CORES:
            break
    return best


def guarded_median(step, samples):
    """Median seconds of one step over `samples` timings; disturbed timings are retried, the least
    disturbed attempt kept. Returns (median, clean samples)."""
    for _ in range(WARMUPS):
        step()
    timings = [guarded_sample(step) for _ in range(samples)]
    return statistics.median(t[0] for t in timings), sum(t[1] <= QUIET_CORES for t in timings)


def serve(step, reply):
    """`--serve`: the parent (`cpae-mpi bench train --peer`) times our step and ours alternately, one
    step each in turn, so both sides of every ratio see the same load. After the warm-up steps this
    prints {"ready": true}; then each stdin line "step" times one guarded step and prints
    {"seconds", "otherCores", "clean", "attempts"} (GuardedTimer.Sample's keys), and "end" returns
    the steps' (median seconds, clean count, count) for the final report."""
    for _ in range(WARMUPS):
        step()
    reply({"ready": True})
    timings = []
    for line in sys.stdin:
        command = line.strip()
        if command == "end":
            if not timings:
                fail("--serve: 'end' before any 'step'", 1)
            return (statistics.median(t[0] for t in timings), sum(t[1] <= QUIET_CORES for t in timings), len(timings))
        if command != "step":
            fail(f"--serve: unknown command '{command}' (step, end)", 1)
        seconds, others, attempts = guarded_sample(step)
        timings.append((seconds, others))
        reply({"seconds": seconds, "otherCores": others, "clean": others <= QUIET_CORES, "attempts": attempts})
    fail("--serve: stdin closed before 'end'", 1)


# --- one configuration (the child) -------------------------------------------------------------

def vpnet_forward(torch, vp, z):
    """Phi_VP (docs/method.md §Objectives): LinM1 -> ActM1 (up) -> LinM2 -> ActM2 (low) -> LinMout, h = 1,
    on z = (p, q) split in halves; row vectors as in Sources/Core/Model/VPNet.swift."""
    m = z.shape[1] // 2
    p, q = z[:, :m], z[:, m:]

    def lin(name, p, q):
        w = vp.modus[name].params
        p = p + q @ w["S1"]
        q = q + p @ w["S2"]
        return p + w["bp"], q + w["bq"]

    p, q = lin("LinM1", p, q)
    p = p + torch.sigmoid(q) * vp.modus["ActM1"].params["a"]
    p, q = lin("LinM2", p, q)
    q = q + torch.sigmoid(p) * vp.modus["ActM2"].params["a"]
    p, q = lin("LinMout", p, q)
    return torch.cat([p, q], dim=1)


def measure_one(a):
    torch = import_torch()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from cpae_torch import CAEHyp

    # What the interpreter and libraries hold before any model memory (the floor of peak_rss_mb).
    baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    cfg = dict(a.model_config, objective=a.objective)
    model = CAEHyp(cfg).train()
    if a.objective == "reference":
        # LAVPNet in cpae_torch.py holds zeros (it only mirrors the layout); ours starts S, a ~ N(0, 0.01²).
        with torch.no_grad():
            for name, prm in model.vpnet.named_parameters():
                if not name.endswith((".bp", ".bq")):
                    prm.normal_(0, 0.01)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    shape = (a.batch, cfg["channels"], cfg["height"], 2 * cfg["height"])
    x, y = torch.rand(shape), torch.rand(shape)
    lam = float(cfg.get("latentWeight", 1.0))
    mse = torch.nn.functional.mse_loss

    def step():
        opt.zero_grad()
        if a.objective == "reconstruction":
            loss = mse(model.decode(model.encode(x)), x)
        else:
            zx = model.encode(x)
            zy = model.encode(y)
            zhat = vpnet_forward(torch, model.vpnet, zx)
            ry = model.decode(zhat)
            rx = model.decode(zx)
            loss = mse(rx, x) + lam * (2 * mse(zhat, zy) + mse(ry, y))
        loss.backward()
        opt.step()

    def reply(obj):
        print(json.dumps(obj), flush=True)

    if a.serve:
        seconds, clean, count = serve(step, reply)
    else:
        (seconds, clean), count = guarded_median(step, a.samples), a.samples
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KB on Linux
    reply({"threads": a.threads, "objective": a.objective, "batch": a.batch,
           "samples_per_second": a.batch / seconds, "step_seconds": seconds,
           "peak_rss_mb": peak_kb * 1024 / 1e6, "baseline_rss_mb": baseline_kb * 1024 / 1e6, "clean_samples": clean, "samples": count,
           "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()})


# --- the parent: one child per configuration ---------------------------------------------------

def run_child(a, threads, objective):
    cmd = [sys.executable, os.path.abspath(__file__), "--one", "--threads", str(threads), "--objectives", objective,
           "--batch", str(a.batch), "--samples", str(a.samples), "--model-config", json.dumps(a.model_config)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        # The child already printed its reason on stderr; keep its exit status (3: torch missing).
        sys.exit(p.returncode)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if not lines:
        fail(f"the child for {threads} thread(s), {objective} printed no JSON line", 1)
    return json.loads(lines[-1])


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch-CPU peer of `cpae-mpi bench train` (see the module docstring).")
    ap.add_argument("--threads", default="1,2", help="comma-separated torch.set_num_threads values (default 1,2)")
    ap.add_argument("--objectives", default="reconstruction,reference", help="comma-separated: reconstruction, reference")
    ap.add_argument("--batch", type=int, default=16, help="samples per step (default 16)")
    ap.add_argument("--samples", type=int, default=3, help="timed steps per configuration, median reported (default 3)")
    ap.add_argument("--model-config", type=json.loads, default=PAPER,
                    help="the model as ModelConfig's JSON (keys of tools/cpae_torch.py's CAEHyp); default the paper CpAE")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--check", action="store_true", help=argparse.SUPPRESS)   # torch importable? print its version
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)     # measure one configuration in this process
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)   # --one, step by step on stdin's command (serve())
    a = ap.parse_args()
    try:
        a.thread_counts = [int(t) for t in a.threads.split(",")]
    except ValueError:
        fail(f"--threads: '{a.threads}' is not a comma-separated list of integers", 2)
    a.objective_list = a.objectives.split(",")
    if any(t < 1 for t in a.thread_counts) or a.batch < 2 or a.samples < 1:
        # BatchNorm on the 1×1 maps of the innermost stacks needs a batch of at least 2.
        fail("--threads must be ≥ 1, --batch ≥ 2 and --samples ≥ 1", 2)
    for o in a.objective_list:
        if o not in OBJECTIVES:
            fail(f"--objectives: unknown objective '{o}' (reconstruction, reference)", 2)
    if a.model_config.get("architecture") not in ("cpae", "ae"):
        fail(f"architecture '{a.model_config.get('architecture')}' has no PyTorch peer here (cpae and ae only)", 2)
    if "reference" in a.objective_list and a.model_config["latent"] % 2:
        fail(f"the reference objective's VPNet needs an even latent dimension, got {a.model_config['latent']}", 2)
    return a


def main():
    a = parse_args()
    if a.check:
        torch = import_torch()
        print(json.dumps({"torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability()}))
        return
    if a.one or a.serve:
        a.threads, a.objective = a.thread_counts[0], a.objective_list[0]
        measure_one(a)
        return
    runs = [run_child(a, t, o) for t in a.thread_counts for o in a.objective_list]
    version, capability = runs[0]["torch"], runs[0]["cpu_capability"]
    for r in runs:
        del r["torch"], r["cpu_capability"]
    if a.json:
        print(json.dumps({"torch": version, "cpu_capability": capability, "note": NOTE, "model": a.model_config,
                          "runs": runs}, indent=2))
        return
    print(f"PyTorch {version} CPU ({capability} kernels), batch {a.batch}; {NOTE}")
    print("threads  objective        samples/s   step ms   peak RSS MB")
    for r in runs:
        print(f"{r['threads']:7d}  {r['objective']:<15}  {r['samples_per_second']:9.2f}  {r['step_seconds'] * 1000:8.1f}  "
              f"{r['peak_rss_mb']:11.1f}" + ("  (machine busy)" if r["clean_samples"] < r["samples"] else ""))


if __name__ == "__main__":
    main()
