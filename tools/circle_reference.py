"""The circular-motion ablation in PyTorch, set up as the reference's Test.py (written from
docs/method.md §Architectures, §Data and the definition of J in §Regularizer): a cross-check of `cpae-mpi circle`.

  python tools/circle_reference.py [iterations] [penalty: continuity|none|l2] [seed]
"""
import sys

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(1)


def frames(n, size=48, r=0.1):
    A = np.ones(size)[:, None] * np.arange(size) / size - 0.5
    B = np.arange(size)[::-1, None] * np.ones(size) / size - 0.5
    out = []
    for f in range(n):
        a = 0.1 * f
        x, y = -0.35 * np.sin(a), 0.35 * np.cos(a)   # (0, 0.35) turned counter-clockwise by a
        out.append(1 / (1 + np.exp(-500 * (r * r - ((A - x) ** 2 + (B - y) ** 2)))))
    return torch.tensor(np.array(out)[:, None], dtype=torch.float32)


def continuity(w):
    """2 × mean over (o, i, p, q, p', q') of exp(-dist²/10)·(a[p',q'] − a[p,q])², zero-padded slices."""
    a = nn.functional.pad(w, (1, 1, 1, 1))
    P, Q = a.shape[-2:]
    yy = torch.linspace(0, 1, P, dtype=w.dtype)
    xx = torch.linspace(0, 1, Q, dtype=w.dtype)
    ky = torch.exp(-(yy[:, None] - yy[None, :]) ** 2 / 10)
    kx = torch.exp(-(xx[:, None] - xx[None, :]) ** 2 / 10)
    # Σ κ (a' − a)² = 2 Σ a² deg − 2 aᵀ κ a with the separable kernel κ = ky ⊗ kx.
    deg = ky.sum(1)[:, None] * kx.sum(1)[None, :]
    quad = (a * a * deg).sum(dim=(-2, -1)) - (a * (ky @ a @ kx.T)).sum(dim=(-2, -1))
    return 2 * (2 * quad).sum() / (a.shape[0] * a.shape[1] * (P * Q) ** 2)


def main(iterations=20000, penalty="continuity", seed=0):
    torch.manual_seed(seed)
    data = frames(220)
    train, test = data[:70], data[70:]
    enc = nn.Conv2d(1, 32, 48, stride=2)
    head = nn.Linear(32, 2)
    tail = nn.Linear(2, 32)
    dec = nn.ConvTranspose2d(32, 1, 48, stride=2)
    params = [*enc.parameters(), *head.parameters(), *tail.parameters(), *dec.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    encode = lambda x: head(torch.sigmoid(enc(x)).flatten(1))
    decode = lambda z: torch.sigmoid(dec(tail(z)[:, :, None, None]))
    for i in range(iterations):
        loss = ((decode(encode(train)) - train) ** 2).mean()
        if penalty == "continuity":
            loss = loss + 10 * continuity(enc.weight)
        elif penalty == "l2":
            loss = loss + (enc.weight ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        z = encode(test).numpy()
        mse = ((decode(encode(test)) - test) ** 2).mean().item()
    d = np.linalg.norm(np.diff(z, axis=0), axis=1)
    print(f"{penalty}: {iterations} iterations, seed {seed}: test MSE {mse:.2e}, jump ratio {d.max() / np.median(d):.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000, sys.argv[2] if len(sys.argv) > 2 else "continuity",
         int(sys.argv[3]) if len(sys.argv) > 3 else 0)
