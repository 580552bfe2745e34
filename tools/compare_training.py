#!/usr/bin/env python3
"""Replays a cpae-mpi `train-ae` run in PyTorch and compares the loss terms step by step.

The PyTorch model is the reference module tree of tools/check_reference_model.py (same state_dict
names), with the LA-VPNet of tools/make_regularizer_fixtures.py and the continuity penalty in the
reference's own brute-force form. It starts from the run's initial weights
(`cpae-mpi model ... --save-init INIT`) and trains on exactly the batches the run trained on
(`cpae-mpi train-ae ... --debug-record-batches BATCHES`, one rank), with torch.optim.Adam and the
reference objective

    recon = MSE(D(z_X), X), latent = 2λ·MSE(Φ(z_X), z_Y), prediction = λ·MSE(D(Φ(z_X)), Y), + J,

no stop-gradient, passes in the order E(X), E(Y), Φ, D(Φ(z_X)), D(z_X) (docs/method.md).

Usage (torch needed; not part of CI):
  python tools/compare_training.py --init INIT.safetensors --batches BATCHES --metrics RUN/metrics.jsonl \
      [--steps N] [--lr 1e-3] [--out torch_metrics.jsonl]
Prints, every few steps, both runs' terms and their relative differences; then the first step at
which each term differs by more than 1e-4, 1e-3, 1e-2 and 10% relative, and the epoch means of the
reconstruction term of both runs.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from check_reference_model import CAEHyp, read_safetensors  # noqa: E402
from make_regularizer_fixtures import LAVPNet, brute_force_penalty  # noqa: E402

TERMS = ["reconstruction", "latent", "prediction", "penalty"]


def build(init):
    tensors, meta = read_safetensors(init)
    cfg = json.loads(meta["model_config"])
    model = CAEHyp(cfg)
    model.vpnet = LAVPNet(cfg["latent"])       # same state_dict keys, with a forward
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    model.load_state_dict(state, strict=True)
    return model, cfg


def penalized_weights(model, cfg):
    if cfg.get("penalty", "continuity") == "none" or cfg["architecture"] != "cpae":
        return []
    return [getattr(model.ae, f"conv_stack{i}")[0][0].weight for i in (1, 2, 3)]


def step_terms(model, cfg, x, y, factor=1.0):
    lam = cfg.get("latentWeight", 1.0) * factor
    zx = model.encode(x)
    zy = model.encode(y)
    zhat = model.vpnet(zx)
    ry = model.decode(zhat)
    rx = model.decode(zx)
    mse = torch.nn.functional.mse_loss
    terms = {
        "reconstruction": mse(rx, x),
        "latent": 2 * lam * mse(zhat, zy),
        "prediction": lam * mse(ry, y),
    }
    weight = cfg.get("penaltyWeight", 1.0)
    ws = penalized_weights(model, cfg)
    if cfg.get("penalty", "continuity") == "l2":
        terms["penalty"] = weight * sum((w ** 2).mean() for w in ws)
    else:
        terms["penalty"] = weight * sum(brute_force_penalty(w) for w in ws) if ws else torch.zeros(())
    return terms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--metrics", required=True, help="the cpae-mpi run's metrics.jsonl")
    ap.add_argument("--steps", type=int, default=0, help="0: every recorded step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="for epoch means (default: from metrics)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--latent-warmup", type=int, default=None,
                    help="steps of the linear λ ramp (default: the run's config.json latentWarmupSteps, else 0)")
    ap.add_argument("--out", help="write PyTorch's per-step terms as JSON lines")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    model, cfg = build(a.init)
    warmup = a.latent_warmup
    if warmup is None:
        config_path = os.path.join(os.path.dirname(a.metrics), "config.json")
        trainer = json.load(open(config_path)).get("trainer", {}) if os.path.exists(config_path) else {}
        warmup = trainer.get("latentWarmupSteps", 0)
    print(f"latent-weight warm-up: {warmup} steps")
    if cfg.get("objective") != "reference":
        sys.exit("only the reference objective is replayed here")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)

    shape = json.load(open(a.batches + ".json"))
    xs, ys = shape["x_shape"], shape["y_shape"]
    per_step = int(np.prod(xs)) + int(np.prod(ys))
    raw = np.memmap(a.batches, dtype=np.uint8, mode="r")
    recorded = raw.size // per_step
    ours = [json.loads(line) for line in open(a.metrics)]
    steps = min(recorded, len(ours)) if a.steps == 0 else min(a.steps, recorded, len(ours))
    spe = a.steps_per_epoch or max(1, sum(1 for m in ours if m["epoch"] == 0))

    first = {t: {} for t in TERMS}
    thresholds = [1e-4, 1e-3, 1e-2, 1e-1]
    torch_log = []
    out = open(a.out, "w") if a.out else None
    print(f"{'step':>5} " + " ".join(f"{t[:5]+' ours':>12} {t[:5]+' torch':>12} {'rel':>8}" for t in TERMS))
    for s in range(steps):
        chunk = np.asarray(raw[s * per_step:(s + 1) * per_step], dtype=np.float32) / 255
        x = torch.from_numpy(chunk[:int(np.prod(xs))].reshape(xs))
        y = torch.from_numpy(chunk[int(np.prod(xs)):].reshape(ys))
        opt.zero_grad(set_to_none=True)
        terms = step_terms(model, cfg, x, y, min(1.0, (s + 1) / warmup) if warmup > 0 else 1.0)
        sum(terms.values()).backward()
        opt.step()
        t = {k: float(v.detach()) for k, v in terms.items()}
        torch_log.append(t)
        if out:
            out.write(json.dumps({"step": s + 1, **t}) + "\n")
        m = ours[s]
        rel = {k: abs(m[k] - t[k]) / max(abs(t[k]), 1e-30) for k in TERMS}
        for k in TERMS:
            for th in thresholds:
                if rel[k] > th and th not in first[k]:
                    first[k][th] = s + 1
        if s % a.every == 0 or s == steps - 1:
            print(f"{s + 1:5d} " + " ".join(f"{m[k]:12.5e} {t[k]:12.5e} {rel[k]:8.1e}" for k in TERMS), flush=True)

    print("\nfirst step at which the relative difference exceeds:")
    for k in TERMS:
        print(f"  {k:15s} " + "  ".join(f">{th:g}: {first[k].get(th, '-')}" for th in thresholds))
    print(f"\nepoch means of the reconstruction term ({spe} steps per epoch):")
    for e in range((steps + spe - 1) // spe):
        lo, hi = e * spe, min(steps, (e + 1) * spe)
        mo = np.mean([ours[i]["reconstruction"] for i in range(lo, hi)])
        mt = np.mean([torch_log[i]["reconstruction"] for i in range(lo, hi)])
        print(f"  epoch {e + 1}: cpae-mpi {mo:.4e}   pytorch {mt:.4e}")


if __name__ == "__main__":
    main()
