"""Makes the whole-model fixture of Tests/CoreTests/ModelFixtureTests.swift.

Input: a checkpoint written by `cpae-mpi train-ae` (a few steps on a tiny dataset, so BatchNorm's running
statistics are not trivial). Output, in Tests/CoreTests/Fixtures/:
  model_small16.safetensors  the checkpoint without optimizer state
  model_small16_x.npy        a seeded input batch
  model_small16_recon.npy    PyTorch's eval-mode reconstruction with the reference module tree
  model_small16_latents.npy  PyTorch's latents

  cpae-mpi generate --system pendulum --trajectories 8 --frames 10 --size 16 --channels 1 --seed 5 --out D
  cpae-mpi train-ae --data D --preset small --size 16 --widths 4,4,4 --global-batch 8 --steps 5 --seed 3 --out R
  python tools/make_model_fixture.py R/checkpoint.safetensors Tests/CoreTests/Fixtures
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from check_reference_model import CAEHyp, read_safetensors  # noqa: E402


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        dtype = {np.dtype("float32"): "F32", np.dtype("int64"): "I64"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main(checkpoint, out):
    tensors, meta = read_safetensors(checkpoint)
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    cfg = json.loads(meta["model_config"])
    model = CAEHyp(cfg)
    model.load_state_dict(state, strict=True)
    model.eval()
    x = np.random.default_rng(11).random((4, cfg["channels"], cfg["height"], 2 * cfg["height"]), dtype=np.float32)
    with torch.no_grad():
        z = model.encode(torch.from_numpy(x))
        y = model.decode(z)
    write_safetensors(os.path.join(out, "model_small16.safetensors"), {k: v.numpy() for k, v in state.items()},
                      {"model_config": meta["model_config"]})
    np.save(os.path.join(out, "model_small16_x.npy"), x)
    np.save(os.path.join(out, "model_small16_recon.npy"), y.numpy().astype(np.float32))
    np.save(os.path.join(out, "model_small16_latents.npy"), z.numpy().astype(np.float32))
    print("latents", z.numpy())


if __name__ == "__main__":
    main(*sys.argv[1:3])
