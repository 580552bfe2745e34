"""Writes Tests/CoreTests/Fixtures/adam_torch.json: torch.optim.Adam on a few parameters with
given gradients, with and without weight decay and with a changing learning rate, recording the
parameters after every step and the final moments. Run: /opt/torchvenv/bin/python tools/adam_fixture.py
"""
import json, pathlib
import numpy as np
import torch

rng = np.random.default_rng(1234)
n, steps = 67, 6
p0 = (rng.standard_normal(n) * 0.5).astype(np.float32)
# Gradients spanning magnitudes, with zeros and a sign flip, so ε and the bias corrections matter.
grads = (rng.standard_normal((steps, n)) * np.logspace(-6, 1, n)[rng.permutation(n)]).astype(np.float32)
grads[:, 3] = 0
grads[2, 4] = -grads[1, 4]
# float32-representable rates, so Swift (Float lr) and torch (Python float lr) see the same value.
lrs = [float(np.float32(1e-3 * (0.1 ** (t / steps)))) for t in range(steps)]

cases = []
for wd in (0.0, 0.05):
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    opt = torch.optim.Adam([p], lr=lrs[0], betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
    after = []
    for t in range(steps):
        for g in opt.param_groups:
            g["lr"] = lrs[t]
        p.grad = torch.from_numpy(grads[t].copy())
        opt.step()
        after.append([float(x) for x in p.detach().numpy()])
    st = opt.state[p]
    cases.append({
        "weight_decay": wd,
        "after": after,
        "m": [float(x) for x in st["exp_avg"].numpy()],
        "v": [float(x) for x in st["exp_avg_sq"].numpy()],
        "step": int(st["step"].item()),
    })

out = {
    "torch": torch.__version__,
    "p0": [float(x) for x in p0],
    "grads": [[float(x) for x in row] for row in grads],
    "lrs": [float(np.float32(x)) for x in lrs],
    "cases": cases,
}
path = pathlib.Path(__file__).resolve().parent.parent / "Tests/CoreTests/Fixtures/adam_torch.json"
path.write_text(json.dumps(out) + "\n")
print("wrote", path)
