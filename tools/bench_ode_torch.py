#!/usr/bin/env python3
"""PyTorch peer of `cpae-mpi bench ode`: iterations/s of the latent Neural ODE training step at the
reference settings (MLP d -> w -> w -> d, tanh, orthogonal init; explicit midpoint (or RK4) with S
substeps per frame, h = 0.01; loss MSE(Psi_h(z_t), z_{t+1}) / h^2; Adam lr 0.01), float32 on CPU.

Run:  python3 tools/bench_ode_torch.py --threads 1 [--batch 20000 --width 256 --iterations 3]
Prints one JSON line: {"iterations_per_second", "step_seconds", "other_cores", "threads", ...}.
Timing: after 1 warm-up step, the median of --iterations single-step timings; "other_cores" is the
CPU other processes used meanwhile (/proc/stat busy time minus this process's own), so a disturbed
measurement is visible (docs/platform notes: unguarded timings on the shared machine were off 2-5x).
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch


def busy_seconds():
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def own_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=20000)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--dimension", type=int, default=8)
    ap.add_argument("--substeps", type=int, default=2)
    ap.add_argument("--h", type=float, default=0.01)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--method", default="midpoint", choices=["midpoint", "rk4"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    d, w = a.dimension, a.width
    net = torch.nn.Sequential(torch.nn.Linear(d, w), torch.nn.Tanh(), torch.nn.Linear(w, w), torch.nn.Tanh(), torch.nn.Linear(w, d))
    for m in net:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.orthogonal_(m.weight, gain=1.0)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    z0 = torch.randn(a.batch, d)
    z1 = z0 + a.h * torch.randn(a.batch, d)
    tau = a.h / a.substeps

    def step():
        x = z0
        for _ in range(a.substeps):
            if a.method == "midpoint":
                x = x + tau * net(x + 0.5 * tau * net(x))
            else:
                k1 = net(x); k2 = net(x + 0.5 * tau * k1); k3 = net(x + 0.5 * tau * k2); k4 = net(x + tau * k3)
                x = x + tau / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        loss = torch.mean((x - z1) ** 2) / a.h ** 2
        opt.zero_grad(set_to_none=False)
        loss.backward()
        opt.step()

    step()  # warm-up
    times = []
    b0, o0, w0 = busy_seconds(), own_seconds(), time.perf_counter()
    for _ in range(a.iterations):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    b1, o1, w1 = busy_seconds(), own_seconds(), time.perf_counter()
    other = None if b0 is None else max(0.0, ((b1 - b0) - (o1 - o0)) / (w1 - w0))
    med = statistics.median(times)
    print(json.dumps({"iterations_per_second": 1 / med, "step_seconds": med, "other_cores": other,
                      "threads": a.threads, "batch": a.batch, "width": w, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
