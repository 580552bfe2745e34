"""Cross-checks cpae-mpi's safetensors files against Python.

  check_safetensors_torch.py check FILE      parse FILE with the `safetensors` package (if it is
                                             importable) and with the minimal parser below, compare
                                             them, and load the model part into a PyTorch module
                                             when FILE is the Swift golden checkpoint
  check_safetensors_torch.py write-reference OUT
                                             write a file with safetensors.torch.save_file for the
                                             Swift reader's test (Tests/CoreTests/Fixtures)

Run with /opt/torchvenv/bin/python; the `safetensors` package is optional (add its site-packages to
PYTHONPATH if it lives in another venv).
"""
import json, struct, sys
import numpy as np
import torch

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U64": np.uint64, "U8": np.uint8}


def parse_minimal(path):
    """The format in 12 lines: u64 header length, JSON header, raw little-endian data."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    spans = sorted(tuple(e["data_offsets"]) for e in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data), "data section not covered exactly"
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "gap or overlap"
    tensors = {k: np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
               .reshape(e["shape"]) for k, e in header.items()}
    return tensors, meta


def check(path):
    tensors, meta = parse_minimal(path)
    print(f"{path}: {len(tensors)} tensors, metadata keys {sorted(meta)}")
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file
    except ImportError:
        print("safetensors package not importable: checked with the minimal parser only")
    else:
        loaded = load_file(path)
        with safe_open(path, framework="pt") as f:
            assert f.metadata() == (meta or None), "metadata differs"
        assert set(loaded) == set(tensors), "tensor names differ"
        for k, t in loaded.items():
            assert np.array_equal(t.numpy(), tensors[k]), k
            assert t.numpy().dtype == tensors[k].dtype, k
        print(f"safetensors.torch.load_file agrees on all {len(loaded)} tensors (dtypes, shapes, values, metadata)")

    for k, t in tensors.items():
        if k.endswith("num_batches_tracked"):
            assert t.dtype == np.int64 and t.shape == (), f"{k}: {t.dtype} {t.shape}"
        if k.startswith("optimizer.m.") or k.startswith("optimizer.v."):
            assert tensors[k[len("optimizer.m."):]].shape == t.shape, k
    if "encoder.0.weight" in tensors and tensors["encoder.0.weight"].shape == (4, 3, 2, 2):
        # The Swift golden checkpoint (CheckpointTests): conv 3→4 (k 2) + BatchNorm(4).
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 2), torch.nn.BatchNorm2d(4))
        state = {k[len("encoder."):]: torch.from_numpy(v.copy()) for k, v in tensors.items() if k.startswith("encoder.")}
        model.load_state_dict(state, strict=True)
        print("loaded into torch.nn.Sequential(Conv2d(3, 4, 2), BatchNorm2d(4)) with strict=True;",
              "num_batches_tracked =", int(model[1].num_batches_tracked), "(int64)",
              "; optimizer.step =", int(tensors["optimizer.step"]))
        model.train()
        y = model(torch.ones(2, 3, 5, 5))
        assert torch.isfinite(y).all()
    print("OK")


def write_reference(out):
    from safetensors.torch import save_file
    state = {
        "conv.weight": torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) * 0.25 - 1,
        "bn.num_batches_tracked": torch.tensor(17, dtype=torch.int64),
        "bn.running_var": torch.tensor([1.5, 2.5], dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    save_file(state, out, metadata={"written_by": "safetensors.torch", "note": "ünïcode"})
    print("wrote", out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "write-reference":
        write_reference(sys.argv[2])
    else:
        sys.exit(__doc__)
