#!/usr/bin/env python3
"""Writes PyTorch reference fixtures for cpae-mpi's layers to Tests/CoreTests/Fixtures/*.json.

Run:  /opt/torchvenv/bin/python tools/make_layer_fixtures.py
Deterministic: every fixture draws from its own torch.Generator seeded from a fixed base seed and its
index, so re-running reproduces the files byte for byte (same torch version).

Inputs and parameters are drawn in float32 (that is what the Swift layers see); the reference is then
computed in float64 from those exact float32 values and rounded to float32 once at the end, so the
fixture is the exact answer to within float32 rounding, not torch's own float32 rounding noise.

Each file is JSON:
  {"name": str, "layer": str, "description": str,
   "config": {key: int | float | bool | [int]},
   "tensors": {key: {"shape": [int], "f32le": base64 of little-endian float32 values, row-major}}}
Naming: x = input, dy = upstream gradient (the loss is Σ dy·y), y = output, dx/dweight/dbias =
gradients; BatchNorm adds running_mean/var before (…_in) and after (…_out) the step.
"""
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

BASE_SEED = 20251125
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "CoreTests", "Fixtures")


def enc(t):
    a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
    return {"shape": list(a.shape), "f32le": base64.b64encode(a.tobytes()).decode("ascii")}


class Gen:
    def __init__(self, index):
        self.g = torch.Generator().manual_seed(BASE_SEED + 1000 * index)

    def uniform(self, shape, lo=-1.0, hi=1.0):
        return (torch.rand(shape, generator=self.g, dtype=torch.float32) * (hi - lo) + lo)

    def normal(self, shape, mean=0.0, std=1.0):
        return torch.randn(shape, generator=self.g, dtype=torch.float32) * std + mean


def d64(t, grad=False):
    """float32 draw → float64 leaf (exactly the same values)."""
    return t.to(torch.float64).requires_grad_(grad)


def write(name, layer, description, config, tensors):
    doc = {"name": name, "layer": layer, "description": description, "config": config,
           "tensors": {k: enc(v) for k, v in tensors.items()}}
    path = os.path.join(OUT_DIR, name + ".json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return os.path.getsize(path)


def conv2d_fixture(idx, name, n, cin, cout, hw, kernel, stride, padding):
    g = Gen(idx)
    bound = 1 / (cin * kernel[0] * kernel[1]) ** 0.5
    x32 = g.uniform([n, cin, *hw])
    w32 = g.uniform([cout, cin, *kernel], -bound, bound)
    b32 = g.uniform([cout], -bound, bound)
    x, w, b = d64(x32, True), d64(w32, True), d64(b32, True)
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    dy32 = g.uniform(list(y.shape))
    (y * d64(dy32)).sum().backward()
    cfg = {"in_channels": cin, "out_channels": cout, "kernel": list(kernel), "stride": list(stride),
           "padding": list(padding), "bias": True}
    return write(name, "Conv2d", f"Conv2d {kernel[0]}x{kernel[1]} stride {stride} pad {padding}", cfg,
                 {"x": x32, "weight": w32, "bias": b32, "y": y, "dy": dy32,
                  "dx": x.grad, "dweight": w.grad, "dbias": b.grad})


def convT_fixture(idx, name, n, cin, cout, hw, kernel, stride, padding, bias):
    g = Gen(idx)
    bound = 1 / (cout * kernel[0] * kernel[1]) ** 0.5
    x32 = g.uniform([n, cin, *hw])
    w32 = g.uniform([cin, cout, *kernel], -bound, bound)
    b32 = g.uniform([cout], -bound, bound)
    x, w, b = d64(x32, True), d64(w32, True), d64(b32, True)
    y = F.conv_transpose2d(x, w, b if bias else None, stride=stride, padding=padding)
    dy32 = g.uniform(list(y.shape))
    (y * d64(dy32)).sum().backward()
    cfg = {"in_channels": cin, "out_channels": cout, "kernel": list(kernel), "stride": list(stride),
           "padding": list(padding), "bias": bias}
    tensors = {"x": x32, "weight": w32, "y": y, "dy": dy32, "dx": x.grad, "dweight": w.grad}
    if bias:
        tensors["bias"] = b32
        tensors["dbias"] = b.grad
    return write(name, "ConvTranspose2d",
                 f"ConvTranspose2d {kernel[0]}x{kernel[1]} stride {stride} pad {padding} bias={bias}", cfg, tensors)


def batchnorm_fixture(idx, name, shape, train):
    g = Gen(idx)
    c = shape[1]
    # An offset mean and a spread of scales per channel, so normalisation does visible work.
    x32 = g.normal(shape) * g.uniform([1, c] + [1] * (len(shape) - 2), 0.5, 3.0) \
        + g.uniform([1, c] + [1] * (len(shape) - 2), -2, 2)
    gamma32 = g.uniform([c], 0.5, 1.5)
    beta32 = g.uniform([c], -0.5, 0.5)
    rm32 = g.uniform([c], -0.5, 0.5)
    rv32 = g.uniform([c], 0.5, 2.0)
    bn = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(c, momentum=0.1, eps=1e-5)
    bn = bn.to(torch.float64)
    with torch.no_grad():
        bn.weight.copy_(gamma32.double()); bn.bias.copy_(beta32.double())
        bn.running_mean.copy_(rm32.double()); bn.running_var.copy_(rv32.double())
    bn.train(train)
    x = d64(x32, True)
    y = bn(x)
    dy32 = g.uniform(list(y.shape))
    (y * d64(dy32)).sum().backward()
    cfg = {"channels": c, "momentum": 0.1, "eps": 1e-5, "train": train,
           "num_batches_tracked_out": int(bn.num_batches_tracked.item())}
    mode = "train" if train else "eval"
    return write(name, "BatchNorm2d", f"BatchNorm over {shape} in {mode} mode (one step)", cfg,
                 {"x": x32, "weight": gamma32, "bias": beta32, "running_mean_in": rm32, "running_var_in": rv32,
                  "y": y, "dy": dy32, "dx": x.grad, "dweight": bn.weight.grad, "dbias": bn.bias.grad,
                  "running_mean_out": bn.running_mean, "running_var_out": bn.running_var})


def linear_fixture(idx, name, xshape, fin, fout):
    g = Gen(idx)
    bound = 1 / fin ** 0.5
    x32 = g.uniform(xshape)
    w32 = g.uniform([fout, fin], -bound, bound)
    b32 = g.uniform([fout], -bound, bound)
    x, w, b = d64(x32, True), d64(w32, True), d64(b32, True)
    y = F.linear(x.reshape(xshape[0], fin), w, b)
    dy32 = g.uniform(list(y.shape))
    (y * d64(dy32)).sum().backward()
    return write(name, "Linear", f"Linear {fin}->{fout} on input {xshape}",
                 {"in_features": fin, "out_features": fout, "bias": True},
                 {"x": x32, "weight": w32, "bias": b32, "y": y, "dy": dy32,
                  "dx": x.grad, "dweight": w.grad, "dbias": b.grad})


def activation_fixture(idx, kind):
    g = Gen(idx)
    x32 = g.uniform([2, 3, 4, 5], -4, 4)
    x = d64(x32, True)
    y = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[kind](x)
    dy32 = g.uniform(list(y.shape))
    (y * d64(dy32)).sum().backward()
    return write(f"activation_{kind}", "Activation", f"{kind} on [2,3,4,5]", {"kind": kind},
                 {"x": x32, "y": y, "dy": dy32, "dx": x.grad})


def concat_fixture(idx):
    g = Gen(idx)
    a32, b32 = g.uniform([2, 3, 2, 3]), g.uniform([2, 2, 2, 3])
    a, b = d64(a32, True), d64(b32, True)
    y = torch.cat([a, b], dim=1)
    dy32 = g.uniform(list(y.shape))
    (y * d64(dy32)).sum().backward()
    return write("concat", "Concat", "torch.cat([a, b], dim=1) and its backward", {"first_channels": 3},
                 {"a": a32, "b": b32, "y": y, "dy": dy32, "da": a.grad, "db": b.grad})


def mse_fixture(idx):
    g = Gen(idx)
    p32, t32 = g.uniform([2, 3, 4, 5]), g.uniform([2, 3, 4, 5])
    weight = 2.0
    p = d64(p32, True)
    loss = weight * F.mse_loss(p, d64(t32), reduction="mean")
    loss.backward()
    return write("mse", "MSELoss", "2 * F.mse_loss(pred, target) (mean) and d/dpred",
                 {"weight": weight},
                 {"pred": p32, "target": t32, "loss": loss.reshape(1), "dpred": p.grad})


def main():
    torch.use_deterministic_algorithms(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    sizes = {}
    jobs = [
        ("conv2d_3x3_s1_p1", lambda i: conv2d_fixture(i, "conv2d_3x3_s1_p1", 2, 3, 4, (5, 6), (3, 3), (1, 1), (1, 1))),
        ("conv2d_12x12_s2_p5", lambda i: conv2d_fixture(i, "conv2d_12x12_s2_p5", 2, 2, 2, (12, 12), (12, 12), (2, 2), (5, 5))),
        ("conv2d_4x4_s2_p1", lambda i: conv2d_fixture(i, "conv2d_4x4_s2_p1", 2, 3, 2, (6, 8), (4, 4), (2, 2), (1, 1))),
        ("conv2d_3x4_s1x2_p1", lambda i: conv2d_fixture(i, "conv2d_3x4_s1x2_p1", 2, 3, 2, (3, 6), (3, 4), (1, 2), (1, 1))),
        ("convT_4x4_s2_p1_bias", lambda i: convT_fixture(i, "convT_4x4_s2_p1_bias", 2, 3, 2, (3, 4), (4, 4), (2, 2), (1, 1), True)),
        ("convT_4x4_s2_p1_nobias", lambda i: convT_fixture(i, "convT_4x4_s2_p1_nobias", 2, 3, 2, (3, 4), (4, 4), (2, 2), (1, 1), False)),
        ("convT_3x4_s1x2_p1_bias", lambda i: convT_fixture(i, "convT_3x4_s1x2_p1_bias", 2, 3, 2, (2, 3), (3, 4), (1, 2), (1, 1), True)),
        ("convT_3x4_s1x2_p1_nobias", lambda i: convT_fixture(i, "convT_3x4_s1x2_p1_nobias", 2, 3, 2, (2, 3), (3, 4), (1, 2), (1, 1), False)),
        ("batchnorm2d_train", lambda i: batchnorm_fixture(i, "batchnorm2d_train", [3, 3, 4, 5], True)),
        ("batchnorm2d_eval", lambda i: batchnorm_fixture(i, "batchnorm2d_eval", [3, 3, 4, 5], False)),
        ("batchnorm_2d_input_train", lambda i: batchnorm_fixture(i, "batchnorm_2d_input_train", [6, 4], True)),
        ("linear", lambda i: linear_fixture(i, "linear", [3, 5], 5, 4)),
        ("linear_flatten", lambda i: linear_fixture(i, "linear_flatten", [3, 2, 2, 2], 8, 3)),
        ("activation_relu", lambda i: activation_fixture(i, "relu")),
        ("activation_sigmoid", lambda i: activation_fixture(i, "sigmoid")),
        ("activation_tanh", lambda i: activation_fixture(i, "tanh")),
        ("concat", lambda i: concat_fixture(i)),
        ("mse", lambda i: mse_fixture(i)),
    ]
    for i, (name, job) in enumerate(jobs):
        sizes[name] = job(i)
    total = sum(sizes.values())
    for name, s in sizes.items():
        print(f"{s:7d}  {name}.json")
    print(f"{total:7d}  total bytes (torch {torch.__version__})")
    assert total < 1_000_000, "fixtures must stay well under 1 MB"


if __name__ == "__main__":
    sys.exit(main())
