#!/usr/bin/env python3
"""Writes the PyTorch reference fixture for cpae-mpi's latent MLP vector field:
Tests/CoreTests/Fixtures/ode_mlp_midpoint.json.

Run:  python3 tools/make_ode_fixture.py      (needs torch and numpy)

A small field 4 -> 16 -> 16 -> 4 (tanh hidden, linear output, nn.init.orthogonal_ gain 1 weights,
zero biases — the reference's initialisation — then the biases set to small random values so
their gradients are exercised), a batch of 8 latents z_t and targets z_{t+1}, and:
  - y: one frame of the explicit midpoint rule with 2 substeps, h = 0.01 (tau = 0.005):
       x <- x + tau * f(x + tau/2 * f(x)), twice;
  - loss: MSE(y, z_{t+1}) / h^2 (the reference's one-step loss);
  - grad.<parameter>: d loss / d parameter for every parameter;
  - dx: d loss / d z_t.
Parameters and inputs are drawn in float32 (what Swift sees); the reference is computed in float64
from exactly those values and rounded once, so the fixture is the exact answer to float32
rounding, not torch's own float32 noise. Targets are y plus noise of the size of one frame's motion
(~h·|f|), like real latent pairs, so the loss is O(1) and its float32 evaluation well conditioned.

Format (the layer fixtures' JSON, Tests/CoreTests/Support/Fixtures.swift):
  {"name", "layer", "description", "config": {...},
   "tensors": {key: {"shape": [...], "f32le": base64 little-endian float32}}}
Parameter keys are the Swift store's names: field.layers.<i>.weight / .bias.
"""
import base64
import json
import os

import torch

SEED = 20261203
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CoreTests", "Fixtures", "ode_mlp_midpoint.json")


def enc(t):
    a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return {"shape": list(a.shape), "f32le": base64.b64encode(a.tobytes()).decode("ascii")}


def main():
    g = torch.Generator().manual_seed(SEED)
    d, w, n, h, substeps = 4, 16, 8, 0.01, 2
    sizes = [d, w, w, d]
    params = {}
    for i in range(3):
        W = torch.empty(sizes[i + 1], sizes[i], dtype=torch.float32)
        torch.nn.init.orthogonal_(W, gain=1.0, generator=g)
        b = (torch.rand(sizes[i + 1], generator=g, dtype=torch.float32) * 2 - 1) * 0.1
        params[f"field.layers.{i}.weight"] = W
        params[f"field.layers.{i}.bias"] = b
    x32 = torch.randn(n, d, generator=g, dtype=torch.float32)
    noise32 = torch.randn(n, d, generator=g, dtype=torch.float32)

    p64 = {k: v.to(torch.float64).requires_grad_(True) for k, v in params.items()}
    x64 = x32.to(torch.float64).requires_grad_(True)

    def field(z):
        a = torch.tanh(z @ p64["field.layers.0.weight"].T + p64["field.layers.0.bias"])
        a = torch.tanh(a @ p64["field.layers.1.weight"].T + p64["field.layers.1.bias"])
        return a @ p64["field.layers.2.weight"].T + p64["field.layers.2.bias"]

    tau = h / substeps
    y = x64
    for _ in range(substeps):
        y = y + tau * field(y + 0.5 * tau * field(y))
    with torch.no_grad():
        target32 = (y + h * 0.5 * noise32.to(torch.float64)).to(torch.float32)
    target64 = target32.to(torch.float64)
    loss = torch.mean((y - target64) ** 2) / h ** 2
    loss.backward()

    tensors = {"x": x32, "target": target32, "y": y, "loss": loss.reshape(1), "dx": x64.grad}
    for k, v in params.items():
        tensors[k] = v
        tensors["grad." + k] = p64[k].grad
    doc = {"name": "ode_mlp_midpoint", "layer": "MLPVectorField+FixedStepIntegrator",
           "description": "MLP field 4-16-16-4 (tanh), midpoint x2 substeps, h=0.01, loss MSE/h^2; float64 reference "
                          "from float32 inputs (torch " + torch.__version__ + ")",
           "config": {"dimension": d, "width": w, "batch": n, "h": h, "substeps": substeps},
           "tensors": {k: enc(v) for k, v in tensors.items()}}
    with open(OUT + ".tmp", "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(OUT + ".tmp", OUT)
    print("wrote", os.path.normpath(OUT), "loss", float(loss.detach()))


if __name__ == "__main__":
    main()
