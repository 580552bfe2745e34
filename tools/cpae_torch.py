"""cpae-mpi checkpoints in PyTorch: the reference's module tree (docs/method.md §Architectures, the
state_dict key list of the authors' CAE_hyp) re-created with the same names and layouts, so a
checkpoint loads with load_state_dict(strict=True). No dependency beyond torch and numpy.

    import sys; sys.path.insert(0, "tools")
    from cpae_torch import load_checkpoint
    model = load_checkpoint("runs/default/cpae/checkpoint.safetensors")   # eval mode
    z = model.encode(frames)   # frames: N×C×H×2H float in [0, 1]; model.decode(z) reconstructs
"""
import json
import struct

import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    types = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=types[e["dtype"]]).reshape(e["shape"]).copy())
    return tensors, meta


def cbr(i, o, k, s=1, p=1):
    return nn.Sequential(nn.Conv2d(i, o, k, stride=s, padding=p), nn.BatchNorm2d(o), nn.ReLU())


def dbr(i, o, k, s, p=1):
    return nn.Sequential(nn.ConvTranspose2d(i, o, k, stride=s, padding=p), nn.BatchNorm2d(o), nn.ReLU())


class ConvAE(nn.Module):
    """The reference's EncoderDecoder_largekernal / EncoderDecoder64x1x1, parameterised like ModelConfig."""

    def __init__(self, cfg):
        super().__init__()
        c, h = cfg["channels"], cfg["height"]
        w1, w2, w3 = cfg["widths"]
        d1, d2 = cfg["decoderWidths"]
        large = cfg["architecture"] == "cpae"
        k = cfg["kernel"] if large else 4
        p = k // 2 - 1
        tail, t = 0, h // 8
        while t > 1:
            t //= 2
            tail += 1
        total = 3 + tail + 1
        self.total = total
        ins = [c, w1, w2]
        for i, w in enumerate([w1, w2, w3]):
            setattr(self, f"conv_stack{i + 1}", nn.Sequential(cbr(ins[i], w, k, 2, p), cbr(w, w, 3)))
        for j in range(4, 4 + tail):
            setattr(self, f"conv_stack{j}", nn.Sequential(cbr(w3, w3, 4, 2, 1), cbr(w3, w3, 3)))
        setattr(self, f"conv_stack{total}", nn.Sequential(cbr(w3, w3, (3, 4), (1, 2), 1), cbr(w3, w3, 3)))
        cur = w3
        for s in range(total, 1, -1):
            kern, st = ((3, 4), (1, 2)) if s == total else (4, 2)
            out = d2 if s == 3 else d1 if s == 2 else w3
            setattr(self, f"deconv_{s}", dbr(cur, out, kern, st))
            setattr(self, f"predict_{s}", nn.Conv2d(cur, c, 3, stride=1, padding=1))
            setattr(self, f"up_sample_{s}", nn.Sequential(nn.ConvTranspose2d(c, c, kern, stride=st, padding=1, bias=False), nn.Sigmoid()))
            cur = out + c
        self.deconv_1 = nn.Sequential(nn.ConvTranspose2d(cur, c, 4, stride=2, padding=1), nn.Sigmoid())

    def encoder(self, x):
        for j in range(1, self.total + 1):
            x = getattr(self, f"conv_stack{j}")(x)
        return x

    def decoder(self, x):
        for s in range(self.total, 1, -1):
            main = getattr(self, f"deconv_{s}")(x)
            side = getattr(self, f"up_sample_{s}")(getattr(self, f"predict_{s}")(x))
            x = torch.cat([main, side], dim=1)
        return self.deconv_1(x)


class Params(nn.Module):
    def __init__(self, **shapes):
        super().__init__()
        self.params = nn.ParameterDict({k: nn.Parameter(torch.zeros(*v)) for k, v in shapes.items()})


class LAVPNet(nn.Module):
    """Only the parameter layout matters here (the helper is not used for encode/decode)."""

    def __init__(self, d):
        super().__init__()
        m = d // 2
        lin = lambda: Params(S1=(m, m), S2=(m, m), bp=(m,), bq=(m,))
        self.modus = nn.ModuleDict({"LinM1": lin(), "ActM1": Params(a=(m,)), "LinM2": lin(), "ActM2": Params(a=(m,)), "LinMout": lin()})


class CAEHyp(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ae = ConvAE(cfg)
        self.encoder_output = nn.Linear(cfg["widths"][2], cfg["latent"])
        self.decoder_input = nn.Linear(cfg["latent"], cfg["widths"][2])
        if cfg["objective"] == "reference":
            self.vpnet = LAVPNet(cfg["latent"])

    def encode(self, x):
        return self.encoder_output(self.ae.encoder(x).flatten(1))

    def decode(self, z):
        return self.ae.decoder(self.decoder_input(z)[:, :, None, None])



def load_checkpoint(path):
    """The CAEHyp of a cpae-mpi checkpoint (its model_config metadata), weights loaded strictly, in eval mode."""
    tensors, meta = read_safetensors(path)
    model = CAEHyp(json.loads(meta["model_config"]))
    model.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("optimizer.")}, strict=True)
    return model.eval()
