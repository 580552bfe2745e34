#!/usr/bin/env python3
"""Fixtures for ContinuityRegularizerTests and VPNetTests (cpae-mpi).

Writes Tests/CoreTests/Fixtures/regularizer_fixtures.json and vpnet_fixtures.json.

* Regularizer: the continuity penalty J computed the way the CpAE reference computes it — the
  O(K^4) brute-force form (zero-pad each slice by one, unit-square grid via linspace, pairwise
  squared differences weighted by exp(-squared distance / 10), 2 x mean over every index tuple; x10
  more in the circle experiment) — written independently from the definition in docs/method.md §Regularizer and a reading of
  the authors' code. Weights are drawn in float32 and J and its autograd gradient are evaluated in
  float64, so the fixture is the exact value of the float32 weights.
* VPNet: an LA-VPNet (3 layers, 2 sublayers, sigmoid, h = 1) whose module tree reproduces the
  reference's state_dict names (modus.LinM1.params.S1, ...), with fixed non-trivial parameters; the
  fixture holds the parameters by state_dict key, an input z, an upstream gradient dy, the output
  y, dz and every parameter's gradient of <dy, y>.

Run: /opt/torchvenv/bin/python tools/make_regularizer_fixtures.py   (deterministic; CPU only)
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "CoreTests", "Fixtures")


# ----------------------------------------------------------------------------- regularizer
def brute_force_penalty(w: torch.Tensor, extra: float = 1.0) -> torch.Tensor:
    """2*extra*mean over (o,i,p,q,p',q') of k((p,q),(p',q')) * (A[p',q'] - A[p,q])^2, A = pad(w, 1)."""
    kh, kw = w.shape[-2], w.shape[-1]
    a = torch.nn.functional.pad(w, (1, 1, 1, 1))
    rows = torch.linspace(0, 1, kh + 2, dtype=w.dtype)
    cols = torch.linspace(0, 1, kw + 2, dtype=w.dtype)
    yy, xx = torch.meshgrid(rows, cols, indexing="ij")           # (P, Q) coordinates

    def pair_sq(t):                                              # [..., P, Q] -> [..., P, Q, P, Q]
        return (t[..., None, None, :, :] - t[..., :, :, None, None]) ** 2

    kernel = torch.exp(-(pair_sq(yy) + pair_sq(xx)) / 10)
    return (pair_sq(a) * kernel).mean() * 2 * extra


def regularizer_case(name, shape, seed, extra=1.0, bound=None):
    g = torch.Generator().manual_seed(seed)
    fan_in = shape[1] * shape[2] * shape[3]
    b = bound if bound is not None else 1 / np.sqrt(fan_in)      # PyTorch's Conv2d default scale
    w32 = (torch.rand(shape, generator=g, dtype=torch.float32) * 2 - 1) * b
    w = w32.double().requires_grad_(True)
    value = brute_force_penalty(w, extra)
    value.backward()
    return {
        "name": name, "shape": list(shape), "scale": extra,
        "weight": w32.flatten().tolist(),
        "value": value.item(),
        "gradient": w.grad.flatten().tolist(),
    }


def write_regularizer():
    cases = [
        regularizer_case("cpae_12x12", (2, 3, 12, 12), seed=1),
        regularizer_case("small_8x8", (2, 1, 8, 8), seed=2, bound=0.5),
        regularizer_case("nonsquare_5x7", (3, 2, 5, 7), seed=3, bound=1.0),
        # The circle experiment's penalty (Test.py multiplies by an extra 10); one 48x48 slice keeps
        # the O(K^4) tensor at 6.25 M doubles.
        regularizer_case("circle_48x48_x10", (1, 1, 48, 48), seed=4, extra=10.0),
    ]
    path = os.path.join(OUT, "regularizer_fixtures.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/make_regularizer_fixtures.py", "cases": cases}, f)
    print("wrote", path, [(c["name"], c["value"]) for c in cases])


# ----------------------------------------------------------------------------- LA-VPNet
class Shears(nn.Module):
    """Linear volume-preserving module: p += q S1, q += p S2 (row vectors), then + (bp, bq)."""

    def __init__(self, m):
        super().__init__()
        self.params = nn.ParameterDict({
            "S1": nn.Parameter(torch.zeros(m, m)), "S2": nn.Parameter(torch.zeros(m, m)),
            "bp": nn.Parameter(torch.zeros(m)), "bq": nn.Parameter(torch.zeros(m)),
        })

    def forward(self, p, q):
        p = p + q @ self.params["S1"]
        q = q + p @ self.params["S2"]
        return p + self.params["bp"], q + self.params["bq"]


class Gate(nn.Module):
    """Activation module: 'up' p += sigmoid(q)*a, 'low' q += sigmoid(p)*a."""

    def __init__(self, m, up):
        super().__init__()
        self.up = up
        self.params = nn.ParameterDict({"a": nn.Parameter(torch.zeros(m))})

    def forward(self, p, q):
        if self.up:
            return p + torch.sigmoid(q) * self.params["a"], q
        return p, q + torch.sigmoid(p) * self.params["a"]


class LAVPNet(nn.Module):
    def __init__(self, d):
        super().__init__()
        m = d // 2
        self.m = m
        self.modus = nn.ModuleDict()
        self.modus["LinM1"] = Shears(m)
        self.modus["ActM1"] = Gate(m, up=True)
        self.modus["LinM2"] = Shears(m)
        self.modus["ActM2"] = Gate(m, up=False)
        self.modus["LinMout"] = Shears(m)

    def forward(self, z):
        p, q = z[..., :self.m], z[..., self.m:]
        for key in ["LinM1", "ActM1", "LinM2", "ActM2", "LinMout"]:
            p, q = self.modus[key](p, q)
        return torch.cat([p, q], dim=-1)


def vpnet_case(d, n, seed):
    g = torch.Generator().manual_seed(seed)
    net = LAVPNet(d).double()
    with torch.no_grad():
        # Large, non-trivial parameters (not the N(0, 0.01^2) init) so every term matters.
        for p in net.parameters():
            p.copy_((torch.randn(p.shape, generator=g, dtype=torch.float32) * 0.6).double())
    z32 = torch.randn(n, d, generator=g, dtype=torch.float32)
    dy32 = torch.randn(n, d, generator=g, dtype=torch.float32)
    z = z32.double().requires_grad_(True)
    y = net(z)
    (y * dy32.double()).sum().backward()
    return {
        "dimension": d, "batch": n,
        "parameters": {k: {"shape": list(v.shape), "value": v.detach().float().flatten().tolist(),
                           "gradient": dict(net.named_parameters())[k].grad.flatten().tolist()}
                       for k, v in net.state_dict().items()},
        "stateDictKeys": list(net.state_dict().keys()),
        "z": z32.flatten().tolist(), "dy": dy32.flatten().tolist(),
        "y": y.detach().flatten().tolist(), "dz": z.grad.flatten().tolist(),
    }


def write_vpnet():
    cases = [vpnet_case(2, 5, seed=11), vpnet_case(8, 6, seed=12)]
    path = os.path.join(OUT, "vpnet_fixtures.json")
    with open(path, "w") as f:
        json.dump({"generator": "tools/make_regularizer_fixtures.py", "cases": cases}, f)
    print("wrote", path, [c["stateDictKeys"] for c in cases[:1]])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_regularizer()
    write_vpnet()
