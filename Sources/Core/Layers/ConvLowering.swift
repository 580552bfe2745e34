/// Shape of one cross-correlation y = x ⋆ w (PyTorch Conv2d semantics) at a given input size:
/// x is N×C×H×W, w is O×C×kh×kw, y is N×O×oh×ow.
///
/// ## The lowering (why not plain im2col)
/// Plain im2col writes one K = C·kh·kw row per output pixel: for a 12×12 stride-2 kernel that is
/// 36× the input, and writing/reading it costs as much as a third of the GEMM. Instead we lower
/// along the width only (MEC-style, Cho & Brand 2017): for row r = (n, ox) and every input row y'
/// of the padded image we store the C·kw values the output column ox sees,
///
///     L[r][y'][c][v] = x[n, c, y' − ph, ox·sw − pw + v]      (0 outside the image).
///
/// For output row oy the K-vectors of all output columns are then rows of a *strided view* of L:
/// A_oy[r, (u, c, v)] = L[r][oy·sh + u][c][v] = L + oy·sh·C·kw with row stride ldL = Hl·C·kw.
/// So one GEMM per output row, over the weight reordered to O×(u, c, v), does the convolution.
/// L is kh/sh times smaller than the im2col matrix (6× for the 12×12 stride-2 layers) and each
/// element is reused by kh/sh consecutive GEMMs while it is still in cache; measured 80–95% of the
/// single-core sgemm peak on the CpAE 12×12 layers, against 35–65% for im2col GEMMs.
struct ConvGeometry: Equatable {
    let channels: Int, height: Int, width: Int      // C, H, W of the correlation's input
    let outChannels: Int                            // O
    let kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int
    let oh: Int, ow: Int

    init(channels: Int, height: Int, width: Int, outChannels: Int,
         kernel: (h: Int, w: Int), stride: (h: Int, w: Int), padding: (h: Int, w: Int)) {
        self.channels = channels; self.height = height; self.width = width; self.outChannels = outChannels
        kh = kernel.h; kw = kernel.w; sh = stride.h; sw = stride.w; ph = padding.h; pw = padding.w
        oh = (height + 2 * ph - kh) / sh + 1
        ow = (width + 2 * pw - kw) / sw + 1
        precondition(kh > 0 && kw > 0 && sh > 0 && sw > 0 && ph >= 0 && pw >= 0,
                     "convolution needs positive kernel and stride and non-negative padding")
        precondition(oh > 0 && ow > 0,
                     "convolution input \(height)×\(width) is smaller than kernel \(kh)×\(kw) with padding \(ph)×\(pw)")
    }

    /// Padded input rows that some output row reads.
    var loweredRows: Int { (oh - 1) * sh + kh }
    /// Floats of one lowered row r = (n, ox), i.e. the row stride of every A_oy view.
    var rowStride: Int { loweredRows * channels * kw }
    /// GEMM inner dimension of the forward pass.
    var k: Int { kh * channels * kw }
    /// Floats of L per sample.
    var loweredPerSample: Int { ow * rowStride }
    var inputPerSample: Int { channels * height * width }
    var outputPerSample: Int { outChannels * oh * ow }

    /// Splits the batch into balanced chunks of about `targetRows` GEMM rows (nb·ow), never more
    /// than `budget` floats of lowered input (see `ConvScratch` for the measured choices).
    func chunks(batch: Int, targetRows: Int, budget: Int) -> [Range<Int>] {
        guard batch > 0 else { return [] }
        let byRows = Swift.max(1, (targetRows + ow - 1) / ow)
        let byMemory = Swift.max(1, budget / Swift.max(1, loweredPerSample))
        let maxPerChunk = Swift.min(byRows, byMemory)
        let count = (batch + maxPerChunk - 1) / maxPerChunk
        return (0..<count).map { i in (i * batch / count)..<((i + 1) * batch / count) }
    }
}

/// Runs `body(i)` for i in 0..<count, spread over up to `threads` threads (`ComputePool`) when the
/// layer's budget allows more than one, serially otherwise.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    parallelForClaimed(count, threads: threads) { i, _ in body(i) }
}

/// `parallelFor` for items of uneven or unpredictable cost: `body(i, slot)` for i in 0..<count, each
/// index claimed by whichever thread is free (so a thread slowed by anything gets fewer), `slot`
/// below min(threads, count) naming the thread for per-thread scratch. Only for items whose results
/// do not depend on which thread ran them. Public for the benchmarks' host-capacity probe, which
/// must run on the same threads as the layers.
@inline(__always)
public func parallelForClaimed(_ count: Int, threads: Int, _ body: (_ index: Int, _ slot: Int) -> Void) {
    if threads <= 1 || count <= 1 {
        for i in 0..<count { body(i, 0) }
    } else {
        ComputePool.shared.run(count, threads: threads, body)
    }
}

/// Runs `body(range)` over contiguous ranges of 0..<n, one per thread (at most `threads`, and only as
/// many as leave each at least `minimum` items), for passes whose items are independent.
@inline(__always)
func parallelRanges(_ n: Int, threads: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
    let parts = Swift.max(1, Swift.min(threads, n / Swift.max(1, minimum)))
    parallelFor(parts, threads: parts) { body(splitRange(n, parts: parts, $0)) }
}

/// Splits 0..<n into `parts` contiguous ranges (as even as possible).
@inline(__always)
func splitRange(_ n: Int, parts: Int, _ i: Int) -> Range<Int> { (i * n / parts)..<((i + 1) * n / parts) }

/// Number of work pieces for a pass over `n` items: one per thread (a few more to balance).
@inline(__always)
func workPieces(_ n: Int, threads: Int) -> Int { Swift.min(n, threads <= 1 ? 1 : 4 * threads) }

extension ConvGeometry {
    /// Writes L for samples `samples` of x (N×C×H×W) into `l` (samples.count·loweredPerSample floats).
    func lower(_ x: UnsafePointer<Float>, samples: Range<Int>, into l: UnsafeMutablePointer<Float>, threads: Int) {
        let rows = samples.count * ow
        let pieces = workPieces(rows, threads: threads)
        let plane = height * width
        let (C, kw, sw, pw, ph, W, H, Hl) = (channels, kw, sw, pw, ph, width, height, loweredRows)
        parallelFor(pieces, threads: threads) { piece in
            for r in splitRange(rows, parts: pieces, piece) {
                let n = samples.lowerBound + r / ow, ox = r % ow
                let x0 = ox * sw - pw
                // Columns v in [vLo, vHi) fall inside the image; the rest is zero padding.
                let vLo = Swift.min(kw, Swift.max(0, -x0)), vHi = Swift.max(vLo, Swift.min(kw, W - x0))
                let xs = x + n * C * plane
                var dst = l + r * rowStride
                for yp in 0..<Hl {
                    let y = yp - ph
                    if y < 0 || y >= H {
                        dst.update(repeating: 0, count: C * kw)
                    } else {
                        var src = xs + y * W + x0
                        var d = dst
                        if vLo == 0 && vHi == kw {
                            for _ in 0..<C {
                                copyFloats(d, src, kw)
                                d += kw; src += plane
                            }
                        } else {
                            for _ in 0..<C {
                                for v in 0..<vLo { d[v] = 0 }
                                copyFloats(d + vLo, src + vLo, vHi - vLo)
                                for v in vHi..<kw { d[v] = 0 }
                                d += kw; src += plane
                            }
                        }
                    }
                    dst += C * kw
                }
            }
        }
    }

    /// The adjoint of `lower`: dx[n, c, y'−ph, ox·sw−pw+v] += dL[r][y'][c][v] over the image,
    /// for samples `samples` of dx (N×C×H×W). Split over input rows, which no two pieces share.
    func unlowerAdd(_ dl: UnsafePointer<Float>, samples: Range<Int>, into dx: UnsafeMutablePointer<Float>, threads: Int) {
        let plane = height * width
        let (C, kw, sw, pw, ph, W, H) = (channels, kw, sw, pw, ph, width, height)
        // Only padded rows inside the image receive anything.
        let yLo = ph, yHi = Swift.min(loweredRows, H + ph)
        guard yHi > yLo else { return }
        let pieces = workPieces(yHi - yLo, threads: threads)
        parallelFor(pieces, threads: threads) { piece in
            let ys = splitRange(yHi - yLo, parts: pieces, piece)
            for n in samples {
                let dxs = dx + n * C * plane
                for ox in 0..<ow {
                    let r = (n - samples.lowerBound) * ow + ox
                    let x0 = ox * sw - pw
                    let vLo = Swift.min(kw, Swift.max(0, -x0)), vHi = Swift.max(vLo, Swift.min(kw, W - x0))
                    if vHi <= vLo { continue }
                    for yi in ys {
                        let yp = yLo + yi
                        var src = dl + r * rowStride + yp * C * kw
                        var dst = dxs + (yp - ph) * W + x0
                        for _ in 0..<C {
                            addFloats(dst + vLo, src + vLo, vHi - vLo)
                            src += kw; dst += plane
                        }
                    }
                }
            }
        }
    }

    /// w (O×C×kh×kw, PyTorch order) → w′ (O×kh×C×kw), the column order of the A_oy views.
    func reorderWeight(_ w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, threads: Int = 1) {
        parallelRanges(outChannels, threads: threads, minimum: reorderMinimumOutputs) { outputs in
            for o in outputs {
                for c in 0..<channels {
                    for u in 0..<kh {
                        (out + ((o * kh + u) * channels + c) * kw).update(from: w + ((o * channels + c) * kh + u) * kw, count: kw)
                    }
                }
            }
        }
    }

    /// w += Σ reorder⁻¹(g′) over `gradients` in order: adds gradients in O×kh×C×kw order to one in
    /// PyTorch O×C×kh×kw order. Output channels are split over `threads`; every element is summed by
    /// one thread in the gradients' order, so the bits do not depend on the split. `overwrite`: w
    /// starts from the first gradient instead (its old contents unread).
    func addReorderedGradients(_ gradients: [UnsafeMutablePointer<Float>], into w: UnsafeMutablePointer<Float>, threads: Int = 1,
                               overwrite: Bool = false) {
        let (C, kh, kw) = (channels, kh, kw)
        parallelRanges(outChannels, threads: threads, minimum: reorderMinimumOutputs) { outputs in
            for (i, g) in gradients.enumerated() {
                let set = overwrite && i == 0
                for o in outputs {
                    // Source rows (o, u, ·) are contiguous runs of C·kw; each goes to C rows kh·kw apart.
                    for u in 0..<kh {
                        var s = UnsafePointer(g + (o * kh + u) * C * kw), d = w + (o * C * kh + u) * kw
                        if kw == 4 {   // the 4×4 and 3×4 layers: one vector per kernel row
                            for _ in 0..<C {
                                let g = UnsafeRawPointer(s).loadUnaligned(as: SIMD4<Float>.self)
                                let sum = set ? g : UnsafeRawPointer(d).loadUnaligned(as: SIMD4<Float>.self) + g
                                UnsafeMutableRawPointer(d).storeBytes(of: sum, as: SIMD4<Float>.self)
                                s += 4; d += kh * 4
                            }
                        } else if set {
                            for _ in 0..<C {
                                for v in 0..<kw { d[v] = s[v] }
                                s += kw; d += kh * kw
                            }
                        } else {
                            for _ in 0..<C {
                                for v in 0..<kw { d[v] += s[v] }
                                s += kw; d += kh * kw
                            }
                        }
                    }
                }
            }
        }
    }

    /// Output channels per thread in the weight reorders: parts of at least ~16k floats (below that a
    /// parallel section costs more than it saves).
    private var reorderMinimumOutputs: Int { Swift.max(1, (1 << 14) / Swift.max(1, channels * kh * kw)) }

    /// y (N×O×oh×ow, samples `samples`) → t[oy][(n, ox)][o], the GEMM-side layout (M = nb·ow rows
    /// per output row, O columns).
    func gatherRows(_ y: UnsafePointer<Float>, samples: Range<Int>, into t: UnsafeMutablePointer<Float>, threads: Int) {
        let (O, oh, ow) = (outChannels, oh, ow)
        let m = samples.count * ow
        let pieces = workPieces(oh, threads: threads)
        parallelFor(pieces, threads: threads) { piece in
            for oy in splitRange(oh, parts: pieces, piece) {
                for (i, n) in samples.enumerated() {
                    for o in 0..<O {
                        let src = y + ((n * O + o) * oh + oy) * ow
                        let dst = t + (oy * m + i * ow) * O + o
                        for ox in 0..<ow { dst[ox * O] = src[ox] }
                    }
                }
            }
        }
    }

    /// The inverse of `gatherRows`, adding bias[o] (if any) on the way.
    func scatterRows(_ t: UnsafePointer<Float>, samples: Range<Int>, bias: UnsafePointer<Float>?,
                     into y: UnsafeMutablePointer<Float>, threads: Int) {
        let (O, oh, ow) = (outChannels, oh, ow)
        let m = samples.count * ow
        let pieces = workPieces(oh, threads: threads)
        parallelFor(pieces, threads: threads) { piece in
            for oy in splitRange(oh, parts: pieces, piece) {
                for (i, n) in samples.enumerated() {
                    for o in 0..<O {
                        let dst = y + ((n * O + o) * oh + oy) * ow
                        let src = t + (oy * m + i * ow) * O + o
                        let b = bias?[o] ?? 0
                        for ox in 0..<ow { dst[ox] = src[ox * O] + b }
                    }
                }
            }
        }
    }
}

/// dst[0..<n] = src[0..<n] for the short runs (kw floats) of the lowering: inline 4-wide moves
/// instead of a memmove call per run (measured ~2× faster lowering at kw = 12).
@inline(__always)
func copyFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 4 <= n {
        UnsafeMutableRawPointer(dst + i).storeBytes(of: UnsafeRawPointer(src + i).loadUnaligned(as: SIMD4<Float>.self),
                                                    as: SIMD4<Float>.self)
        i += 4
    }
    while i < n { dst[i] = src[i]; i += 1 }
}

/// dst[0..<n] += src[0..<n], 4 wide.
@inline(__always)
func addFloats(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + 4 <= n {
        let a = UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD4<Float>.self)
        let b = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: a + b, as: SIMD4<Float>.self)
        i += 4
    }
    while i < n { dst[i] += src[i]; i += 1 }
}
