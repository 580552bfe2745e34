"""Pillow-compatible bicubic resizing reference for ImageTests: torch's antialiased bicubic
(`F.interpolate(mode="bicubic", antialias=True)`) reproduces Pillow's BICUBIC resampling (a = -0.5,
support widened by the scale when shrinking, out-of-image taps dropped and renormalized).
A seeded random 13x17 RGB image is shrunk to 5x7 and enlarged to 29x31. Prints base64 strings."""
import base64
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(7)
image = rng.integers(0, 256, size=(13, 17, 3), dtype=np.uint8)
x = torch.from_numpy(image).permute(2, 0, 1)[None].double()

def resize(h, w):
    y = F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
    return y[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()

print('"input":', '"' + base64.b64encode(image.tobytes()).decode() + '",')
print('"down":', '"' + base64.b64encode(resize(5, 7).tobytes()).decode() + '",')
print('"up":', '"' + base64.b64encode(resize(29, 31).tobytes()).decode() + '",')
