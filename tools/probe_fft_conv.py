#!/usr/bin/env python3
"""Would an FFT convolution beat our Winograd 12×12 layers? A measurement, not a product path.

For each full-size 12×12 stride-2 layer of the `paper` CpAE at batch 16, on one thread, in one run:

  ours      `cpae-mpi bench layers --filter 12x12 --json` forward (the Winograd path `auto` picks);
  fft       the layer as an FFT convolution built from PyTorch's optimised pieces (MKL / pocketfft
            FFTs, batched complex GEMMs): the polyphase split into four stride-1 6×6 correlations
            over 4C channels, rfft2 of the phase planes and of the kernel phases at a fast size
            ≥ the planes, per frequency Y[f] (N×O) = X[f] (N×4C) · conj(W[f])ᵀ, irfft2, crop;
  torch     PyTorch's own conv2d (oneDNN) forward, for scale.

The FFT prototype's output is checked against conv2d first (its rounding error is printed). Its
time is what tuned libraries make of the whole path; its "bound" keeps only the plain FFTs (input
planes in, output spectra out, no layout changes, no kernel FFT) and the products at the sgemm
peak, less than any FFTW + cgemm implementation of ours could take. If that bound is above our
Winograd time, FFT loses on this machine (docs/method.md §Fast convolutions).

Run:  python3 tools/probe_fft_conv.py [--binary .build/release/cpae-mpi] [--samples 7]
Needs torch (only when run).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def fast_size(n):
    """Smallest 2^a·3^b·5^c ≥ n (the sizes FFT libraries do fastest)."""
    best = None
    p2 = 1
    while p2 < 2 * n:
        p3 = p2
        while p3 < 2 * n:
            p5 = p3
            while p5 < 2 * n:
                if p5 >= n and (best is None or p5 < best):
                    best = p5
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return best


def host():
    """The CPU model and whether it has AVX-512 (the figures depend on both)."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return "unknown"
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "unknown")
    return f"{model}, AVX-512F {'yes' if ' avx512f' in info else 'no'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=".build/release/cpae-mpi")
    ap.add_argument("--samples", type=int, default=7)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("probe_fft_conv: needs torch (pip install torch)")
    torch.set_num_threads(1)
    torch.manual_seed(0)

    ours_run = subprocess.run([a.binary, "bench", "layers", "--filter", "12x12", "--algorithm", "auto",
                               "--samples", str(a.samples), "--batch", str(a.batch), "--json"],
                              capture_output=True, text=True, check=True)
    report = json.loads(ours_run.stdout)["reports"][0]
    ours = {l["name"]: l for l in report["layers"]}
    peak = report["sgemm_peak_gflops"]

    def median_time(f):
        f()
        times = []
        for _ in range(a.samples):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    rows = []
    for name, l in ours.items():
        C, H, W = l["input"]
        O = l["output"][0]
        k, s, p = l["kernel"][0], l["stride"][0], l["padding"][0]
        oh, ow = l["output"][1], l["output"][2]
        r = k // s
        x = torch.randn(a.batch, C, H, W)
        w = torch.randn(O, C, k, k) / (C * k * k) ** 0.5

        # Phase planes: x̃ padded, x_ab[i, j] = x̃[s·i + a, s·j + b]; hp × wp cover every output's patch.
        hp, wp = oh + r - 1, ow + r - 1
        fh, fw = fast_size(hp), fast_size(wp)

        F = fh * (fw // 2 + 1)
        cp = C * s * s

        def transforms_in():
            xp = torch.nn.functional.pad(x, (p, s * wp - W - p, p, s * hp - H - p))
            phases = xp.reshape(a.batch, C, hp, s, wp, s).permute(0, 1, 3, 5, 2, 4).reshape(a.batch, cp, hp, wp)
            wph = w.reshape(O, C, r, s, r, s).permute(0, 1, 3, 5, 2, 4).reshape(O, cp, r, r)
            X = torch.fft.rfft2(phases, s=(fh, fw))                     # N × C′ × fh × (fw/2+1)
            K = torch.fft.rfft2(wph, s=(fh, fw))                        # O × C′ × fh × (fw/2+1)
            Xf = X.reshape(a.batch, cp, F).permute(2, 0, 1).contiguous()  # F × N × C′
            Kf = K.reshape(O, cp, F).permute(2, 1, 0).conj().resolve_conj().contiguous()  # F × C′ × O
            return Xf, Kf

        def transform_out(Y):
            Y = Y.permute(1, 2, 0).reshape(a.batch, O, fh, fw // 2 + 1)
            return torch.fft.irfft2(Y, s=(fh, fw))[:, :, :oh, :ow].contiguous()

        def fft_forward():
            Xf, Kf = transforms_in()
            return transform_out(torch.bmm(Xf, Kf))                     # F × N × O

        with torch.no_grad():
            ref = torch.nn.functional.conv2d(x.double(), w.double(), stride=s, padding=p)
            err = (fft_forward().double() - ref).abs().max().item() / ref.abs().max().item()
            fft_s = median_time(fft_forward)
            Xf, Kf = transforms_in()
            Y = torch.bmm(Xf, Kf)
            in_s = median_time(transforms_in)
            out_s = median_time(lambda: transform_out(Y))
            # The bound: the FFTs alone on contiguous planes (no layout changes, the kernel's FFT not
            # counted) and the per-frequency products at the sgemm peak (a complex multiply-add is 8
            # real FLOPs): less than any implementation of this FFT convolution could take on one core.
            planes = torch.randn(a.batch, cp, hp, wp)
            spectra = torch.fft.rfft2(torch.randn(a.batch, O, hp, wp), s=(fh, fw))
            ffts_s = median_time(lambda: torch.fft.rfft2(planes, s=(fh, fw))) + \
                median_time(lambda: torch.fft.irfft2(spectra, s=(fh, fw)))
            products_at_peak = F * a.batch * cp * O * 8 / (peak * 1e9)
            bound = ffts_s + products_at_peak
            torch_s = median_time(lambda: torch.nn.functional.conv2d(x, w, stride=s, padding=p))
        rows.append(dict(name=name, ours_forward_seconds=l["forward_seconds"], fft_forward_seconds=fft_s,
                         torch_conv2d_forward_seconds=torch_s, fft_size=[fh, fw], fft_relative_error=err,
                         fft_transforms_seconds=in_s + out_s, fft_plain_ffts_seconds=ffts_s, fft_products_at_peak_seconds=products_at_peak,
                         fft_bound_seconds=bound, fft_over_ours=fft_s / l["forward_seconds"],
                         fft_bound_over_ours=bound / l["forward_seconds"]))

    print(f"batch {a.batch}, 1 thread, torch {torch.__version__}, sgemm peak {peak:.1f} GFLOP/s; medians of {a.samples}")
    print("bound = the plain FFTs of the input planes and of the output spectra + the products at the sgemm peak")
    print(f"{'layer':15} {'ours (Winograd)':>16} {'FFT prototype':>14} {'FFT / ours':>10} {'bound':>9} "
          f"{'bound / ours':>12} {'torch conv2d':>13} {'FFT size':>9} {'FFT rel. err':>12}")
    for r_ in rows:
        print(f"{r_['name']:15} {r_['ours_forward_seconds'] * 1e3:13.1f} ms {r_['fft_forward_seconds'] * 1e3:11.1f} ms "
              f"{r_['fft_over_ours']:9.2f}× {r_['fft_bound_seconds'] * 1e3:6.1f} ms {r_['fft_bound_over_ours']:11.2f}× "
              f"{r_['torch_conv2d_forward_seconds'] * 1e3:10.1f} ms "
              f"{r_['fft_size'][0]:>4}×{r_['fft_size'][1]:<4} {r_['fft_relative_error']:12.1e}")
    print(json.dumps({"batch": a.batch, "threads": 1, "torch": torch.__version__, "sgemm_peak_gflops": peak,
                      "host": host(), "blas_core": report.get("blas_core", ""), "layers": rows}))


if __name__ == "__main__":
    main()
