"""Cross-checks a cpae-mpi checkpoint against the PyTorch model of tools/cpae_torch.py, and the README's
loading snippet with it:

  1. loads the checkpoint with load_state_dict(strict=True) — every name, shape and dtype must match;
  2. runs encoder and decoder in eval mode on an input .npy and compares with `cpae-mpi reconstruct`;
  3. runs the README's snippet (the ```python block after "Load a checkpoint into PyTorch") on the same
     checkpoint and input, and requires the same latents.

Usage (torch needed, not part of CI):
  python tools/check_reference_model.py CHECKPOINT INPUT.npy RECON.npy LATENTS.npy [README.md]
"""
import os
import re
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cpae_torch import load_checkpoint  # noqa: E402


def readme_snippet(readme):
    text = open(readme).read()
    match = re.search(r"Load a checkpoint into PyTorch.*?```python\n(.*?)```", text, re.S)
    if not match:
        sys.exit(f"{readme}: no ```python block after 'Load a checkpoint into PyTorch'")
    return match.group(1)


def main(checkpoint, inp, recon, latents, readme=None):
    model = load_checkpoint(checkpoint)
    x = torch.from_numpy(np.load(inp))
    with torch.no_grad():
        z = model.encode(x)
        y = model.decode(z)
    ours_y, ours_z = np.load(recon), np.load(latents)
    ey = np.abs(y.numpy() - ours_y).max()
    ez = np.abs(z.numpy() - ours_z).max() / max(1e-12, np.abs(z.numpy()).max())
    print(f"load_state_dict(strict=True): ok ({len(model.state_dict())} tensors); max |Δ recon| {ey:.2e}; max relative |Δ latent| {ez:.2e}")
    if ey > 1e-4 or ez > 1e-4:
        sys.exit("MISMATCH")
    if readme:
        # The snippet names its own paths; run it with those replaced by this check's files.
        code = readme_snippet(readme)
        scope = {"__name__": "readme_snippet"}
        code = re.sub(r'"[^"]*checkpoint\.safetensors"', repr(checkpoint), code)
        code = code.replace('np.load("frames.npy")', f"np.load({inp!r})")
        cwd = os.getcwd()
        os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            exec(compile(code, readme + " snippet", "exec"), scope)
        finally:
            os.chdir(cwd)
        zs = scope["z"].detach().numpy()
        es = np.abs(zs - z.numpy()).max() / max(1e-12, np.abs(z.numpy()).max())
        print(f"README snippet: ran ({len(code.strip().splitlines())} lines); max relative |Δ latent| {es:.2e}")
        if es > 1e-6:
            sys.exit("README snippet MISMATCH")


if __name__ == "__main__":
    main(*sys.argv[1:6])
