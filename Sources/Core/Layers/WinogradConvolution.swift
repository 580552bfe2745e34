/// A convolution run as a Winograd F(m×m, r×r) convolution over its polyphase components — the
/// same three products as the direct lowering (`ConvGeometry`), with fewer multiplications.
///
/// ## Polyphase: any stride s becomes stride 1
/// With the padded input x̃ and the phase images x_ab[i, j] = x̃[s·i + a, s·j + b] and kernel phases
/// w_ab[u, v] = w[s·u + a, s·v + b] (zero where s·u + a ≥ k),
///
///     y[oy, ox] = Σ_{c,a,b} Σ_{u,v < r} w_ab[u, v] · x_ab[oy + u, ox + v],     r = ⌈k / s⌉,
///
/// a stride-1 valid correlation over C′ = C·s² "phase channels". A 12×12 stride-2 layer becomes a
/// 6×6 one over 4C channels, a 4×4 stride-2 layer a 2×2 one.
///
/// ## Winograd on tiles, GEMMs over channels
/// The output is cut into m×m tiles; tile t reads an α×α patch d (α = m + r − 1) of every phase
/// channel, and Y_t = Aᵀ[Σ_c′ (G w_c′ Gᵀ) ⊙ (Bᵀ d_t,c′ B)]A (`ToomCook`). For each of the α² transform
/// points ξ the channel sum is one GEMM over a block of tiles:
///
///     M[ξ] (tiles × O) = V[ξ] (tiles × C′) · U[ξ]ᵀ (C′ × O),
///
/// α² multiplications per tile and channel pair instead of m²r²: 5.1× fewer for F(3×3, 6×6),
/// 4× for F(4×4, 3×3), 2.9× for F(6×6, 2×2).
///
/// Tiles are laid out channel-last (HWC) so every transform is a run of axpys over contiguous
/// channel vectors that the compiler vectorises, and every GEMM operand is contiguous.
///
/// ## The other two products are exact adjoints
/// y is linear in x and in w, so dx = ∂yᵀ dy and dW = ∂yᵀ dy run the same stages backwards:
/// dM = A dY Aᵀ, dV[ξ] = dM[ξ]·U[ξ], dx̃ += B dV Bᵀ (overlapping patches add), and
/// dU[ξ] = dM[ξ]ᵀ·V[ξ], dw_c′ = Gᵀ dU G. The gradient is then the exact gradient of the computed
/// forward map (up to rounding), which is what finite differences check.
struct WinogradPlan {
    let geometry: ConvGeometry
    let stride: Int
    /// Taps per axis of each phase kernel.
    let r: Int
    /// Phase channels C′ = C·s².
    let phaseChannels: Int
    let tables: ToomCookTables
    let m: Int, alpha: Int
    /// Tiles per sample: th × tw.
    let th: Int, tw: Int
    /// Rows and columns of a sample's phase planes (every patch of every tile inside).
    let hp: Int, wp: Int
    /// Tiles per GEMM block at the least (`defaultMinimumBlockTiles`; tests set both values on any host).
    let minimumBlockTiles: Int

    /// Square kernels with equal strides 1 or 2 only (the 3×4 / stride (1, 2) tail layers are 1×2
    /// pixels: nothing to gain there), and phase kernels of 2 to 7 taps: α ≤ 8 with m ≥ 2, see `defaultTile`).
    static func supports(_ g: ConvGeometry) -> Bool {
        g.kh == g.kw && g.sh == g.sw && (1...2).contains(g.sh) && (2...7).contains((g.kh + g.sh - 1) / g.sh)
    }

    /// Output tile size per phase-kernel size: α = m + r − 1 ≤ 8 keeps the points at 0, ±1, ±½, ±2
    /// (larger α needs ±4 or ±¼, and the rounding error grows fast).
    static func defaultTile(r: Int) -> Int {
        switch r {
        case 2: return 6        // F(6, 2): α = 7
        case 3: return 4        // F(4, 3): α = 6
        default: return Swift.max(2, 9 - r)   // r = 6: F(3, 6), α = 8
        }
    }

    /// `absolute`: the magnitude-only transforms of `ToomCookRows(_:absolute:)` (error bounds in tests).
    init(_ g: ConvGeometry, tile: Int? = nil, absolute: Bool = false,
         minimumBlockTiles: Int = WinogradPlan.defaultMinimumBlockTiles) {
        precondition(WinogradPlan.supports(g), "Winograd convolution needs a square kernel and equal strides of 1 or 2")
        geometry = g
        stride = g.sh
        r = (g.kh + stride - 1) / stride
        phaseChannels = g.channels * stride * stride
        m = tile ?? WinogradPlan.defaultTile(r: r)
        tables = ToomCookTables(ToomCook(m: m, r: r), absolute: absolute)
        alpha = m + r - 1
        precondition(alpha <= 8, "Winograd tiles with α = m + r − 1 > 8 are not supported (the points would need ±4 or ±¼)")
        th = (g.oh + m - 1) / m
        tw = (g.ow + m - 1) / m
        hp = th * m + r - 1
        wp = tw * m + r - 1
        self.minimumBlockTiles = minimumBlockTiles
    }

    var tilesPerSample: Int { th * tw }
    var planeFloats: Int { hp * wp * phaseChannels }
    /// Floats of one sample's tiled output (HWC over whole tiles).
    var outputFloats: Int { th * m * tw * m * geometry.outChannels }
    var transformedWeightFloats: Int { alpha * alpha * geometry.outChannels * phaseChannels }

    /// Tiles per GEMM block: the block's V and M (α² × tiles × (C′ + O) floats) stay near 512 KB, so
    /// they are still in the core's L2 when the transform that follows reads them, but with at least
    /// `minimumBlockTiles` rows so each GEMM is worth a call. Measured (bench layers, Zen 4, batch 16):
    /// against 2 MB blocks, 512 KB took the Winograd layers from 1.3–1.5× to 1.6–1.9× on two threads
    /// and was as fast or faster on one.
    var blockTiles: Int {
        let perTile = alpha * alpha * (phaseChannels + geometry.outChannels)
        return Swift.max(minimumBlockTiles, (1 << 17) / perTile)
    }

    /// Rows of the per-point GEMMs at the least. Where OpenBLAS has small-matrix kernels (SkylakeX's
    /// set, which Zen 4 gets), a short GEMM is cheap and 32 rows keep the 12×12 layers' blocks in L2.
    /// Elsewhere (Zen 1–3, Haswell) every call also packs both operands and takes a buffer from
    /// OpenBLAS's shared pool under one process-wide mutex, which two threads contend for: on Zen 3
    /// the first 12×12 layer (a 43 × 16 × 12 GEMM per point) spent 5% of its 2-thread samples in that
    /// mutex. 128 rows there, measured on Zen 3 (`bench layers`, 1 and 2 threads, batch 16, floors
    /// 32/64/128/256, two rounds each): enc.s1a 2 threads 56–63 → 46–48 ms, enc.s2a 54–57 → 49–50 ms,
    /// all layers 270–278 → 253–263 ms (1 thread 496–518 → 473–498 ms); the other layers within noise.
    static let defaultMinimumBlockTiles = BLASKernels.hasSmallMatrixKernels ? 32 : 128

    /// Multiplications per sample of the forward pass (the GEMM part), for reports.
    var multiplyAdds: Int { tilesPerSample * alpha * alpha * phaseChannels * geometry.outChannels }
}

// MARK: - Layout passes (NCHW ↔ phase planes and tiled outputs)

extension WinogradPlan {
    /// Phase planes of samples `samples` of x (NCHW): P[n][i][j][c′] = x̃[c][s·i + a][s·j + b], c′ = (c·s + a)·s + b.
    func fillPlanes(_ x: UnsafePointer<Float>, samples: Range<Int>, into p: UnsafeMutablePointer<Float>) {
        let g = geometry, s = stride, cp = phaseChannels
        // Plane row by plane row (one row, wp·C′ floats, stays in L1 while every channel writes into it).
        for (nl, n) in samples.enumerated() {
            let base = p + nl * planeFloats
            for i in 0..<hp {
                let row = base + i * wp * cp
                for c in 0..<g.channels {
                    for a in 0..<s {
                        let y = s * i + a - g.ph
                        for b in 0..<s {
                            let dst = row + (c * s + a) * s + b
                            if y < 0 || y >= g.height {
                                for j in 0..<wp { dst[j * cp] = 0 }
                                continue
                            }
                            let src = x + ((n * g.channels + c) * g.height + y) * g.width
                            // Columns j whose source s·j + b − pw lies inside the row.
                            let jLo = Swift.min(wp, Swift.max(0, (g.pw - b + s - 1) / s))
                            let jHi = Swift.max(jLo, Swift.min(wp, (g.width - 1 + g.pw - b) / s + 1))
                            for j in 0..<jLo { dst[j * cp] = 0 }
                            var x0 = s * jLo + b - g.pw
                            for j in jLo..<jHi { dst[j * cp] = src[x0]; x0 += s }
                            for j in jHi..<wp { dst[j * cp] = 0 }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `fillPlanes`: out[n][c][y][x] = base[c] + dP[n][i][j][c′] for the pixel each
    /// plane entry came from (every input pixel is one plane entry, or none past the last tile).
    func emptyPlanes(_ dp: UnsafePointer<Float>, samples: Range<Int>, bias: UnsafePointer<Float>?,
                     into out: UnsafeMutablePointer<Float>) {
        let g = geometry, s = stride, cp = phaseChannels
        for (nl, n) in samples.enumerated() {
            let base = dp + nl * planeFloats
            // Image row by image row: the plane row it comes from stays in L1 across channels.
            for y in 0..<g.height {
                let i = (y + g.ph) / s, a = (y + g.ph) % s
                for c in 0..<g.channels {
                    let b0 = bias?[c] ?? 0
                    let dst = out + ((n * g.channels + c) * g.height + y) * g.width
                    guard i < hp else {
                        for x in 0..<g.width { dst[x] = b0 }
                        continue
                    }
                    let row = base + i * wp * cp + (c * s + a) * s
                    // Pixel x = s·j + b − pw comes from column j of phase b: one strided run per phase
                    // (no division per pixel; it was most of this pass).
                    for b in 0..<s {
                        var x = s * Swift.max(0, (g.pw - b + s - 1) / s) + b - g.pw
                        var j = (x + g.pw) / s
                        while x < g.width && j < wp { dst[x] = b0 + row[j * cp + b]; x += s; j += 1 }
                        while x < g.width { dst[x] = b0; x += s }
                    }
                }
            }
        }
    }

    /// Tiled HWC output (th·m × tw·m × O per sample) → y (NCHW, samples `samples`), adding the bias.
    func storeOutput(_ t: UnsafePointer<Float>, samples: Range<Int>, bias: UnsafePointer<Float>?,
                     into y: UnsafeMutablePointer<Float>) {
        let g = geometry, O = g.outChannels, rowFloats = tw * m * O
        for (nl, n) in samples.enumerated() {
            for oy in 0..<g.oh {
                for o in 0..<O {
                    let b = bias?[o] ?? 0
                    let src = t + nl * outputFloats + oy * rowFloats + o
                    let dst = y + ((n * O + o) * g.oh + oy) * g.ow
                    for ox in 0..<g.ow { dst[ox] = src[ox * O] + b }
                }
            }
        }
    }

    /// y (NCHW) → tiled HWC, zero past the last output row and column (the adjoint of `storeOutput`).
    func loadOutput(_ y: UnsafePointer<Float>, samples: Range<Int>, into t: UnsafeMutablePointer<Float>) {
        let g = geometry, O = g.outChannels, rowFloats = tw * m * O
        for (nl, n) in samples.enumerated() {
            let base = t + nl * outputFloats
            if g.oh < th * m || g.ow < tw * m { base.update(repeating: 0, count: outputFloats) }
            for oy in 0..<g.oh {
                for o in 0..<O {
                    let src = y + ((n * O + o) * g.oh + oy) * g.ow
                    let dst = base + oy * rowFloats + o
                    for ox in 0..<g.ow { dst[ox * O] = src[ox] }
                }
            }
        }
    }
}

// MARK: - Tile transforms (per band of tiles, vectorised over contiguous runs)
//
// A band is one tile row of one sample: tw tiles side by side. Each 2-D transform is two 1-D passes;
// the vertical pass runs over whole plane rows (wp·C′ or tw·m·O contiguous floats, shared by all
// tiles of the band and by the overlap between neighbours), the horizontal pass per tile over runs of
// C′ or O channel values. Zero coefficients are skipped.

@inline(__always)
private func setScaled(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ k: Float, _ n: Int) {
    for i in 0..<n { d[i] = k * s[i] }
}

@inline(__always)
private func addScaled(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ k: Float, _ n: Int) {
    for i in 0..<n { d[i] += k * s[i] }
}

/// out[u] = Σ_{i < sources} coef[u·8 + i] · src[i] for u in 0..<rows: `sources` (≤ 8) source rows
/// `sourceStride` floats apart, `count` floats each; output rows `outputStride` apart. Register-blocked:
/// per 8 lanes the sources are loaded once and every output formed from them, instead of re-reading
/// the sources for each output. Coefficient rows are zero-padded to 8 (`ToomCookTables`); the terms
/// are added in i order, as a scalar loop would, and a zero coefficient adds an exact ±0. The input
/// transform (Bᵀ), the kernel transform (G) and its adjoint (Gᵀ) all run through it.
@inline(__always)
private func applyPaddedRows(_ coef: UnsafePointer<Float>, rows: Int, sources a: Int, _ src: UnsafePointer<Float>,
                             sourceStride: Int, count n: Int, into out: UnsafeMutablePointer<Float>, outputStride: Int) {
    typealias V8 = SIMD8<Float>
    let raw = UnsafeRawPointer(src)
    @inline(__always) func source(_ i: Int, _ j: Int) -> V8 {
        i < a ? raw.loadUnaligned(fromByteOffset: (i * sourceStride + j) * 4, as: V8.self) : V8()
    }
    var j = 0
    while j + 8 <= n {
        let s0 = source(0, j), s1 = source(1, j), s2 = source(2, j), s3 = source(3, j)
        let s4 = source(4, j), s5 = source(5, j), s6 = source(6, j), s7 = source(7, j)
        for u in 0..<rows {
            let w = coef + u * 8
            var d = s0 * w[0]
            d += s1 * w[1]; d += s2 * w[2]; d += s3 * w[3]
            d += s4 * w[4]; d += s5 * w[5]; d += s6 * w[6]; d += s7 * w[7]
            UnsafeMutableRawPointer(out + u * outputStride + j).storeBytes(of: d, as: V8.self)
        }
        j += 8
    }
    while j < n {
        for u in 0..<rows {
            let w = coef + u * 8
            var d = w[0] * src[j]
            for i in 1..<a { d += w[i] * src[i * sourceStride + j] }
            out[u * outputStride + j] = d
        }
        j += 1
    }
}

/// d = Σ_j coef[j·stride] · src(j), n floats, over the non-zero coefficients (at least one).
@inline(__always)
private func combine(_ coef: UnsafePointer<Float>, stride: Int, count: Int, into d: UnsafeMutablePointer<Float>, n: Int,
                     _ src: (Int) -> UnsafePointer<Float>) {
    var first = true
    for j in 0..<count {
        let k = coef[j * stride]
        if k == 0 { continue }
        if first { setScaled(d, src(j), k, n); first = false } else { addScaled(d, src(j), k, n) }
    }
    if first { d.update(repeating: 0, count: n) }
}

/// For `count` runs of `width` floats: dst run q (stride dstStride) = or += k · src run q (stride srcStride).
@inline(__always)
private func stridedScaled(_ d: UnsafeMutablePointer<Float>, dstStride: Int, _ s: UnsafePointer<Float>, srcStride: Int,
                           count: Int, width: Int, _ k: Float, accumulate: Bool) {
    var dp = d, sp = s
    if accumulate {
        for _ in 0..<count { for i in 0..<width { dp[i] += k * sp[i] }; dp += dstStride; sp += srcStride }
    } else {
        for _ in 0..<count { for i in 0..<width { dp[i] = k * sp[i] }; dp += dstStride; sp += srcStride }
    }
}

extension WinogradPlan {
    /// Band b of a chunk → (sample within the chunk, tile row).
    @inline(__always)
    func bandPosition(_ b: Int) -> (n: Int, ty: Int) { (b / th, b % th) }

    /// Floats of one sample's row transforms: hp rows of [ξ2][tx][c′].
    var rowTransformFloats: Int { hp * alpha * tw * phaseChannels }
    /// A band's output-side intermediate: m rows of [ξ2][tx][o].
    var temporaryFloats: Int { m * alpha * tw * geometry.outChannels }

    /// The horizontal half of the input transform, once per plane row (neighbouring tile rows share
    /// r − 1 plane rows, so this is cheaper than per band): H[n][y][ξ2][tx][c′] = Σ_j Bᵀ[ξ2][j] · P[n][y][tx·m + j][c′].
    func transformRows(_ p: UnsafePointer<Float>, samples: Int, into h: UnsafeMutablePointer<Float>) {
        let cp = phaseChannels, a = alpha, row = wp * cp, hrow = a * tw * cp
        let btm = UnsafePointer(tables.bt)
        for y in 0..<(samples * hp) {
            let src = p + y * row, dst = h + y * hrow
            for x2 in 0..<a {
                var first = true
                for j in 0..<a {
                    let k = btm[x2 * a + j]
                    if k == 0 { continue }
                    stridedScaled(dst + x2 * tw * cp, dstStride: cp, src + j * cp, srcStride: m * cp, count: tw, width: cp, k,
                                  accumulate: !first)
                    first = false
                }
            }
        }
    }

    /// The adjoint of `transformRows`: dP[n][y][tx·m + j] += Σ_ξ2 Bᵀ[ξ2][j] · dH[n][y][ξ2][tx] (tiles overlap).
    func transformRowsAdjoint(_ dh: UnsafePointer<Float>, samples: Int, into dp: UnsafeMutablePointer<Float>) {
        let cp = phaseChannels, a = alpha, row = wp * cp, hrow = a * tw * cp
        let btm = UnsafePointer(tables.bt)
        for y in 0..<(samples * hp) {
            let src = dh + y * hrow, dst = dp + y * row
            for x2 in 0..<a {
                for j in 0..<a {
                    let k = btm[x2 * a + j]
                    if k == 0 { continue }
                    stridedScaled(dst + j * cp, dstStride: m * cp, src + x2 * tw * cp, srcStride: cp, count: tw, width: cp, k,
                                  accumulate: true)
                }
            }
        }
    }

    /// The vertical half: V[ξ1·α + ξ2][q·tw + tx] = Σ_i Bᵀ[ξ1][i] · H[band's row ty·m + i][ξ2][tx], for bands
    /// `bands` (q = band − bands.lowerBound); each term is one contiguous run of tw·C′ floats.
    /// Register-blocked per point column ξ2 (`applyPaddedRows`; α ≤ 8, see `init`).
    func transformInput(_ h: UnsafePointer<Float>, bands: Range<Int>, into v: UnsafeMutablePointer<Float>) {
        let cp = phaseChannels, a = alpha, run = tw * cp, hrow = a * run, bt = bands.count * tw
        let c = UnsafePointer(tables.btPadded), outStride = a * bt * cp
        for band in bands {
            let (n, ty) = bandPosition(band)
            let q = band - bands.lowerBound
            let top = h + (n * hp + ty * m) * hrow
            for x2 in 0..<a {
                applyPaddedRows(c, rows: a, sources: a, top + x2 * run, sourceStride: hrow, count: run,
                                into: v + (x2 * bt + q * tw) * cp, outputStride: outStride)
            }
        }
    }

    /// The adjoint of `transformInput`: dH[row ty·m + i][ξ2] += Σ_ξ1 Bᵀ[ξ1][i] · dV[ξ1, ξ2][band's tiles].
    /// Bands overlap by r − 1 rows, so one thread handles all bands of a chunk, in order.
    func transformInputAdjoint(_ dv: UnsafePointer<Float>, bands: Range<Int>, into dh: UnsafeMutablePointer<Float>) {
        let cp = phaseChannels, a = alpha, run = tw * cp, hrow = a * run, bt = bands.count * tw
        let btm = UnsafePointer(tables.bt)
        for band in bands {
            let (n, ty) = bandPosition(band)
            let q = band - bands.lowerBound
            let top = dh + (n * hp + ty * m) * hrow
            for x1 in 0..<a {
                for x2 in 0..<a {
                    let src = dv + ((x1 * a + x2) * bt + q * tw) * cp
                    for i in 0..<a {
                        let k = btm[x1 * a + i]
                        if k != 0 { addScaled(top + i * hrow + x2 * run, src, k, run) }
                    }
                }
            }
        }
    }

    /// Tiled output rows of bands `bands` = Aᵀ M A: first the vertical half over whole runs of tiles,
    /// Z[i][ξ2] = Σ_ξ1 Aᵀ[i][ξ1] · M[ξ1, ξ2] (m rows only), then the horizontal half per tile.
    /// `tmp`: `temporaryFloats`.
    func transformOutput(_ mm: UnsafePointer<Float>, bands: Range<Int>, into out: UnsafeMutablePointer<Float>,
                         tmp: UnsafeMutablePointer<Float>) {
        let O = geometry.outChannels, a = alpha, run = tw * O, row = tw * m * O, bt = bands.count * tw
        let atm = UnsafePointer(tables.at)
        for band in bands {
            let (n, ty) = bandPosition(band)
            let q = band - bands.lowerBound
            for i in 0..<m {
                for x2 in 0..<a {
                    combine(atm + i * a, stride: 1, count: a, into: tmp + (i * a + x2) * run, n: run) {
                        mm + (($0 * a + x2) * bt + q * tw) * O
                    }
                }
            }
            let top = out + n * outputFloats + ty * m * row
            for i in 0..<m {
                for j in 0..<m {
                    var first = true
                    for x2 in 0..<a {
                        let k = atm[j * a + x2]
                        if k == 0 { continue }
                        stridedScaled(top + i * row + j * O, dstStride: m * O, tmp + (i * a + x2) * run, srcStride: O,
                                      count: tw, width: O, k, accumulate: !first)
                        first = false
                    }
                }
            }
        }
    }

    /// The adjoint of `transformOutput`: Z[i][ξ2] = Σ_j Aᵀ[j][ξ2] · dY[row i][tile's column j] per tile,
    /// then dM[ξ1, ξ2] = Σ_i Aᵀ[i][ξ1] · Z[i][ξ2] over whole runs. `tmp`: `temporaryFloats`.
    func transformOutputAdjoint(_ dy: UnsafePointer<Float>, bands: Range<Int>, into dm: UnsafeMutablePointer<Float>,
                                tmp: UnsafeMutablePointer<Float>) {
        let O = geometry.outChannels, a = alpha, run = tw * O, row = tw * m * O, bt = bands.count * tw
        let atm = UnsafePointer(tables.at)
        for band in bands {
            let (n, ty) = bandPosition(band)
            let q = band - bands.lowerBound
            let top = dy + n * outputFloats + ty * m * row
            for i in 0..<m {
                for x2 in 0..<a {
                    let dst = tmp + (i * a + x2) * run
                    var first = true
                    for j in 0..<m {
                        let k = atm[j * a + x2]
                        if k == 0 { continue }
                        stridedScaled(dst, dstStride: O, top + i * row + j * O, srcStride: m * O, count: tw, width: O, k,
                                      accumulate: !first)
                        first = false
                    }
                    if first { dst.update(repeating: 0, count: run) }
                }
            }
            for x1 in 0..<a {
                for x2 in 0..<a {
                    combine(atm + x1, stride: a, count: m, into: dm + ((x1 * a + x2) * bt + q * tw) * O, n: run) {
                        UnsafePointer(tmp + ($0 * a + x2) * run)
                    }
                }
            }
        }
    }
}

// MARK: - Kernel transforms

extension WinogradPlan {
    /// U[ξ][o][c′] = (G w_c′ Gᵀ)[ξ] for the weight w (O×C×k×k, PyTorch order). Per output channel,
    /// vectorised over c′ (every pass runs along the contiguous c′ of U). G's entries are powers of the
    /// points, exact in Float; the sums round like any 2r-term sum (the tests' error bound counts them).
    /// Output channels are independent: `threads` workers take contiguous ranges of them (the same
    /// bits at any thread count).
    func transformWeight(_ w: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let g = geometry, s = stride, a = alpha, k = g.kh, O = g.outChannels, cp = phaseChannels
        let gp = UnsafePointer(tables.gPadded)
        parallelRanges(O, threads: threads) { outputs in
            let phase = UnsafeMutablePointer<Float>.allocate(capacity: r * r * cp)
            let half = UnsafeMutablePointer<Float>.allocate(capacity: a * r * cp)
            defer { phase.deallocate(); half.deallocate() }
            for o in outputs {
                // phase[u][v][c′] = w[o][c][s·u + a][s·v + b] (0 past the kernel).
                for c in 0..<g.channels {
                    let wk = w + (o * g.channels + c) * k * k
                    for pa in 0..<s {
                        for pb in 0..<s {
                            let c2 = (c * s + pa) * s + pb
                            for uu in 0..<r {
                                for vv in 0..<r {
                                    let ky = s * uu + pa, kx = s * vv + pb
                                    phase[(uu * r + vv) * cp + c2] = ky < k && kx < k ? wk[ky * k + kx] : 0
                                }
                            }
                        }
                    }
                }
                // half[ξ1][v] = Σ_u G[ξ1][u] · phase[u][v]; U[ξ1, ξ2][o] = Σ_v G[ξ2][v] · half[ξ1][v].
                for vv in 0..<r {
                    applyPaddedRows(gp, rows: a, sources: r, phase + vv * cp, sourceStride: r * cp, count: cp,
                                    into: half + vv * cp, outputStride: r * cp)
                }
                for x1 in 0..<a {
                    applyPaddedRows(gp, rows: a, sources: r, half + x1 * r * cp, sourceStride: cp, count: cp,
                                    into: u + (x1 * a * O + o) * cp, outputStride: O * cp)
                }
            }
        }
    }

    /// Whether the phases hold exactly the kernel's taps (k a multiple of the stride).
    var phasesAreKernel: Bool { r * stride == geometry.kh }

    /// The transform's own layout of a weight gradient — per output channel, phase tap (u, v) of
    /// phase channel c′, [o][u][v][c′] — as an order of the kernel's entries (`EntryOrder`): the
    /// deterministic mode folds every unit's gradient in it and rearranges the sums once a step
    /// (`addWeightGradient(inPhaseOrder:)`). Nil when k is not a multiple of the stride: the phases
    /// then hold taps past the kernel, and the layout is not a permutation of it.
    var phaseOrder: EntryOrder? {
        let g = geometry, s = stride, k = g.kh, C = g.channels, O = g.outChannels, r = r, cp = phaseChannels
        guard phasesAreKernel else { return nil }
        return EntryOrder(key: [1, k, s, C, O]) {
            var positions = [Int32](repeating: 0, count: O * C * k * k)
            for o in 0..<O {
                for uu in 0..<r {
                    for vv in 0..<r {
                        for c in 0..<C {
                            for pa in 0..<s {
                                for pb in 0..<s {
                                    let entry = ((o * r + uu) * r + vv) * cp + (c * s + pa) * s + pb
                                    positions[entry] = Int32(((o * C + c) * k + s * uu + pa) * k + s * vv + pb)
                                }
                            }
                        }
                    }
                }
            }
            return positions
        }
    }

    /// dW (O×C×k×k) += Gᵀ dU G, the adjoint of `transformWeight`, vectorised over c′ the same way and
    /// split over output channels the same way. `overwrite`: dW = Gᵀ dU G (dW's old contents unread).
    /// `inPhaseOrder` (with `overwrite`): dW in `phaseOrder`'s order, as the transform leaves it.
    func addWeightGradient(_ du: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>, threads: Int = 1,
                           overwrite: Bool = false, inPhaseOrder: Bool = false) {
        let g = geometry, s = stride, a = alpha, k = g.kh, O = g.outChannels, cp = phaseChannels
        precondition(!inPhaseOrder || (overwrite && phasesAreKernel), "WinogradPlan: the phase order is written whole, for k a multiple of s")
        let gt = UnsafePointer(tables.gtPadded)
        // Kernel column kx is phase column kx / s, sub-phase kx % s: its offset in a phase row; kernel
        // row ky is phase row ky / s of sub-phase ky % s. (Tables: s is not a constant, so `/` and `%`
        // are integer divisions, which the deterministic mode would otherwise run twice per kernel row per sample.)
        let columns = (0..<k).map { ($0 / s) * cp + $0 % s }
        let rows = (0..<k).map { ($0 / s) * r * cp + ($0 % s) * s }
        parallelRanges(O, threads: threads) { outputs in
            let half = UnsafeMutablePointer<Float>.allocate(capacity: a * r * cp)
            let phases = UnsafeMutablePointer<Float>.allocate(capacity: r * r * cp)
            defer { phases.deallocate(); half.deallocate() }
            for o in outputs {
                let phase = inPhaseOrder ? dw + o * r * r * cp : phases
                // half[ξ1][v] = Σ_ξ2 G[ξ2][v] · dU[ξ1, ξ2][o]; phase[u][v] = Σ_ξ1 G[ξ1][u] · half[ξ1][v].
                for x1 in 0..<a {
                    applyPaddedRows(gt, rows: r, sources: a, du + (x1 * a * O + o) * cp, sourceStride: O * cp, count: cp,
                                    into: half + x1 * r * cp, outputStride: cp)
                }
                for vv in 0..<r {
                    applyPaddedRows(gt, rows: r, sources: a, half + vv * cp, sourceStride: r * cp, count: cp,
                                    into: phase + vv * cp, outputStride: r * cp)
                }
                if inPhaseOrder { continue }
                // Phase (u, v) of channel c′ = (c·s + pa)·s + pb is kernel tap (s·u + pa, s·v + pb) of channel c.
                // Written one kernel row at a time (contiguous in dW); a stride-2 row's taps come in
                // pairs (pb = 0, 1 are adjacent channels c′), two pairs to a vector.
                for c in 0..<g.channels {
                    for ky in 0..<k {
                        let src = UnsafePointer(phase + rows[ky] + c * s * s)
                        let row = dw + ((o * g.channels + c) * k + ky) * k
                        if s == 2 && k % 4 == 0 {
                            for q in 0..<(k / 4) {
                                let taps = SIMD4(lowHalf: UnsafeRawPointer(src + 2 * q * cp).loadUnaligned(as: SIMD2<Float>.self),
                                                 highHalf: UnsafeRawPointer(src + (2 * q + 1) * cp).loadUnaligned(as: SIMD2<Float>.self))
                                let d = UnsafeMutableRawPointer(row + 4 * q)
                                d.storeBytes(of: overwrite ? taps : d.loadUnaligned(as: SIMD4<Float>.self) + taps, as: SIMD4<Float>.self)
                            }
                        } else if overwrite {
                            for kx in 0..<k { row[kx] = src[columns[kx]] }
                        } else {
                            for kx in 0..<k { row[kx] += src[columns[kx]] }
                        }
                    }
                }
            }
        }
    }
}

// MARK: - The three products

extension WinogradPlan {
    /// Runs `body(samples, scratch, worker)` over chunks of whole samples (about `blockTiles` tiles or
    /// more each). With `workers` (a pass that accumulates per worker, the weight gradient), the batch
    /// is split into one contiguous part per worker, so each worker's sum covers the same samples in
    /// every run; without, the chunks are claimed by whichever thread is free (`parallelForClaimed`:
    /// a thread slowed by the machine takes fewer), each sample's output being the same wherever it runs.
    private func forEachChunk(batch: Int, scratch: ConvScratch, workers: ((Int) -> Void)? = nil,
                              _ body: (Range<Int>, ConvScratch, Int) -> Void) {
        let perChunk = Swift.max(1, blockTiles / tilesPerSample)
        let count = Swift.max(1, Swift.min(scratch.budget.threads, batch))
        let scratches = scratch.workerScratches(count)
        func chunks(_ part: Range<Int>, size: Int) -> [Range<Int>] {
            Swift.stride(from: part.lowerBound, to: part.upperBound, by: size).map { $0..<Swift.min(part.upperBound, $0 + size) }
        }
        guard let workers else {
            // At least one chunk per thread: a block of ≥ 128 tiles (`minimumBlockTiles`) holds
            // several samples of a small map, and a rank's local batch may be only a few samples.
            let list = chunks(0..<batch, size: Swift.max(1, Swift.min(perChunk, (batch + count - 1) / count)))
            parallelForClaimed(list.count, threads: count) { i, slot in body(list[i], scratches[slot], slot) }
            return
        }
        workers(count)
        parallelFor(count, threads: count) { w in
            for chunk in chunks(count <= 1 ? 0..<batch : splitRange(batch, parts: count, w), size: perChunk) { body(chunk, scratches[w], w) }
        }
    }

    /// Tile rows (bands) per GEMM block, and the block's largest tile count.
    private var bandsPerBlock: Int { Swift.max(1, blockTiles / tw) }
    private var maxBlockTiles: Int { bandsPerBlock * tw }

    /// Blocks of whole bands of a chunk of `samples` samples.
    private func blocks(samples: Int) -> [Range<Int>] {
        let total = samples * th, size = bandsPerBlock
        return Swift.stride(from: 0, to: total, by: size).map { $0..<Swift.min(total, $0 + size) }
    }

    /// U[ξ]ᵀ (C′ × O per point): the forward GEMMs then run non-transposed. OpenBLAS 0.3.21's
    /// small-matrix NT kernel is slow: measured on Zen 4, the 12×12 layers' forward 25–27 ms → 18–21 ms.
    private func transposedWeight(_ u: UnsafePointer<Float>, scratch: ConvScratch) -> UnsafeMutablePointer<Float> {
        let O = geometry.outChannels, cp = phaseChannels
        let ut = scratch.transposedWeight(transformedWeightFloats)
        parallelRanges(alpha * alpha, threads: scratch.budget.threads) { points in
            for xi in points {
                let src = u + xi * O * cp, dst = ut + xi * O * cp
                for o in 0..<O { for c in 0..<cp { dst[c * O + o] = src[o * cp + c] } }
            }
        }
        return ut
    }

    /// M[ξ] (tiles × O) = V[ξ] · U[ξ]ᵀ for every point ξ, from Uᵀ (`transposedWeight`).
    private func pointProducts(_ v: UnsafePointer<Float>, transposedWeight ut: UnsafePointer<Float>, tiles bt: Int,
                               into mm: UnsafeMutablePointer<Float>) {
        let O = geometry.outChannels, cp = phaseChannels
        for xi in 0..<(alpha * alpha) {
            sgemm(m: bt, n: O, k: cp, a: v + xi * bt * cp, lda: cp, b: ut + xi * O * cp, ldb: O, c: mm + xi * bt * O, ldc: O)
        }
    }

    /// dV[ξ] (tiles × C′) = dM[ξ] · U[ξ] for every point ξ.
    private func pointProductsAdjoint(_ dm: UnsafePointer<Float>, weight u: UnsafePointer<Float>, tiles bt: Int,
                                      into dv: UnsafeMutablePointer<Float>) {
        let O = geometry.outChannels, cp = phaseChannels
        for xi in 0..<(alpha * alpha) {
            sgemm(m: bt, n: cp, k: O, a: dm + xi * bt * O, lda: O, b: u + xi * O * cp, ldb: cp, c: dv + xi * bt * cp, ldc: cp)
        }
    }

    /// Makes U (and, `transposed`, Uᵀ) in `scratch`: what every product reads from `scratch.weight`
    /// and `scratch.transposedWeight`. The products call it themselves unless `scratch.weightPrepared`
    /// says a caller already did (the deterministic mode's `forEachUnit`).
    func prepareWeight(_ w: UnsafePointer<Float>, transposed: Bool, scratch: ConvScratch) {
        let u = scratch.weight(transformedWeightFloats)
        transformWeight(w, into: u, threads: scratch.budget.threads)
        if transposed { _ = transposedWeight(u, scratch: scratch) }
    }

    /// y = x ⋆ w (+ bias). With `keepRows` (batch · `rowTransformFloats` floats) the input's row
    /// transforms H are left there, sample by sample, for `weightGradient(keptRows:)`.
    func correlate(_ x: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
                   bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, scratch: ConvScratch,
                   keepRows: UnsafeMutablePointer<Float>? = nil) {
        let O = geometry.outChannels, cp = phaseChannels, a2 = alpha * alpha
        if !scratch.weightPrepared { prepareWeight(w, transposed: true, scratch: scratch) }
        let uu = UnsafePointer(scratch.transposedWeight(transformedWeightFloats))
        forEachChunk(batch: batch, scratch: scratch) { samples, s, _ in
            let p = s.lowered(samples.count * planeFloats)
            fillPlanes(x, samples: samples, into: p)
            let h = keepRows.map { $0 + samples.lowerBound * rowTransformFloats } ?? s.rowTransforms(samples.count * rowTransformFloats)
            transformRows(p, samples: samples.count, into: h)
            let out = s.rows(samples.count * outputFloats)
            let v = s.transformed(a2 * maxBlockTiles * cp), mm = s.products(a2 * maxBlockTiles * O)
            let tmp = s.temporary(temporaryFloats)
            for bands in blocks(samples: samples.count) {
                let bt = bands.count * tw
                transformInput(h, bands: bands, into: v)
                pointProducts(v, transposedWeight: uu, tiles: bt, into: mm)
                transformOutput(mm, bands: bands, into: out, tmp: tmp)
            }
            storeOutput(out, samples: samples, bias: bias, into: y)
        }
    }

    /// out = bias + (adjoint of the correlation)(t): a convolution's input gradient, or a transposed
    /// convolution's forward pass.
    func correlateAdjoint(_ t: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        let O = geometry.outChannels, cp = phaseChannels, a2 = alpha * alpha
        if !scratch.weightPrepared { prepareWeight(w, transposed: false, scratch: scratch) }
        let uu = UnsafePointer(scratch.weight(transformedWeightFloats))
        forEachChunk(batch: batch, scratch: scratch) { samples, s, _ in
            let dyt = s.rows(samples.count * outputFloats)
            loadOutput(t, samples: samples, into: dyt)
            let dh = s.rowTransforms(samples.count * rowTransformFloats)
            dh.update(repeating: 0, count: samples.count * rowTransformFloats)
            let dv = s.transformed(a2 * maxBlockTiles * cp), dm = s.products(a2 * maxBlockTiles * O)
            let tmp = s.temporary(temporaryFloats)
            for bands in blocks(samples: samples.count) {
                let bt = bands.count * tw
                transformOutputAdjoint(dyt, bands: bands, into: dm, tmp: tmp)
                pointProductsAdjoint(dm, weight: uu, tiles: bt, into: dv)
                transformInputAdjoint(dv, bands: bands, into: dh)
            }
            let dp = s.lowered(samples.count * planeFloats)
            dp.update(repeating: 0, count: samples.count * planeFloats)
            transformRowsAdjoint(dh, samples: samples.count, into: dp)
            emptyPlanes(dp, samples: samples, bias: bias, into: out)
        }
    }

    /// gradW += Σ_n t_n ⋆ x_n (the weight gradient of y = x ⋆ w for output gradient t), then the
    /// requested second product from the same transformed tiles. `keptRows`: the row transforms of
    /// this x that `correlate(keepRows:)` left, so the input's first two passes are not redone.
    func weightGradient(input x: UnsafePointer<Float>, outputGradient t: UnsafePointer<Float>, batch: Int,
                        weight w: UnsafePointer<Float>, accumulateInto gradW: UnsafeMutablePointer<Float>, overwrite: Bool = false,
                        inPhaseOrder: Bool = false, span: GradientSpan = .whole, then second: ConvSecondProduct, scratch: ConvScratch,
                        keptRows: UnsafePointer<Float>? = nil) {
        guard batch > 0 else {
            if overwrite { gradW.update(repeating: 0, count: geometry.outChannels * geometry.channels * geometry.kh * geometry.kw) }
            return
        }
        let O = geometry.outChannels, cp = phaseChannels, a2 = alpha * alpha
        var uu: UnsafePointer<Float>? = nil, ut: UnsafePointer<Float>? = nil
        if case .none = second {} else {
            var transposed = false
            if case .correlation = second { transposed = true }
            if !scratch.weightPrepared { prepareWeight(w, transposed: transposed, scratch: scratch) }
            uu = UnsafePointer(scratch.weight(transformedWeightFloats))
            if transposed { ut = UnsafePointer(scratch.transposedWeight(transformedWeightFloats)) }
        }
        // Each worker's dU starts with its first GEMM block (β = 0), so it is never cleared separately:
        // the deterministic mode calls this once per unit, and clearing dU each time was a pass of its own.
        var grads: [UnsafeMutablePointer<Float>] = []
        let started = UnsafeMutablePointer<Bool>.allocate(capacity: Swift.max(1, scratch.budget.threads))
        defer { started.deallocate() }
        forEachChunk(batch: batch, scratch: scratch, workers: { count in
            grads = scratch.workerScratches(count).map { $0.gradient(transformedWeightFloats) }
            started.initialize(repeating: span.continues, count: count)
        }) { samples, s, worker in
            let du = grads[worker]
            // The planes buffer is also where the adjoint's dP goes.
            let p = s.lowered(samples.count * planeFloats)
            let h: UnsafePointer<Float>
            if let keptRows {
                h = keptRows + samples.lowerBound * rowTransformFloats
            } else {
                let rows = s.rowTransforms(samples.count * rowTransformFloats)
                fillPlanes(x, samples: samples, into: p)
                transformRows(p, samples: samples.count, into: rows)
                h = UnsafePointer(rows)
            }
            let dyt = s.rows(samples.count * outputFloats)
            loadOutput(t, samples: samples, into: dyt)
            let v = s.transformed(a2 * maxBlockTiles * cp), dm = s.products(a2 * maxBlockTiles * O)
            let tmp = s.temporary(temporaryFloats)
            var out: UnsafeMutablePointer<Float>? = nil
            if case .correlation = second { out = s.outputs(samples.count * outputFloats) }
            var adjointStarted = false
            for bands in blocks(samples: samples.count) {
                let bt = bands.count * tw
                transformInput(h, bands: bands, into: v)
                transformOutputAdjoint(dyt, bands: bands, into: dm, tmp: tmp)
                let beta: Float = started[worker] ? 1 : 0
                started[worker] = true
                for xi in 0..<a2 {
                    // dU[ξ] (O × C′) += dM[ξ]ᵀ · V[ξ].
                    sgemm(transA: true, m: O, n: cp, k: bt, a: dm + xi * bt * O, lda: O, b: v + xi * bt * cp, ldb: cp,
                          beta: beta, c: du + xi * O * cp, ldc: cp)
                }
                switch second {
                case .none:
                    break
                case .adjoint:
                    // V is spent: reuse it for dV = dM · U. dH needs a buffer of its own: later blocks
                    // still read H.
                    pointProductsAdjoint(dm, weight: uu!, tiles: bt, into: v)
                    let dh = s.rowTransformsGradient(samples.count * rowTransformFloats)
                    if !adjointStarted {
                        dh.update(repeating: 0, count: samples.count * rowTransformFloats)
                        adjointStarted = true
                    }
                    transformInputAdjoint(v, bands: bands, into: dh)
                case .correlation:
                    // dM is spent: reuse it for M = V · Uᵀ.
                    pointProducts(v, transposedWeight: ut!, tiles: bt, into: dm)
                    transformOutput(dm, bands: bands, into: out!, tmp: tmp)
                }
            }
            switch second {
            case .none: break
            case .adjoint(let dx):
                // The planes P are spent: reuse them for dP.
                p.update(repeating: 0, count: samples.count * planeFloats)
                transformRowsAdjoint(s.rowTransformsGradient(samples.count * rowTransformFloats), samples: samples.count, into: p)
                emptyPlanes(p, samples: samples, bias: nil, into: dx)
            case .correlation(let y): storeOutput(out!, samples: samples, bias: nil, into: y)
            }
        }
        // Workers' dU in worker order (each element by one thread, so the same bits at any split of
        // the elements), then one transform back to the kernel's layout.
        guard span.finishes else { return }
        let total = grads[0], threads = scratch.budget.threads
        if grads.count > 1 {
            parallelRanges(transformedWeightFloats, threads: threads, minimum: 4096) { range in
                for g in grads.dropFirst() { for i in range { total[i] += g[i] } }
            }
        }
        addWeightGradient(total, into: gradW, threads: threads, overwrite: overwrite, inPhaseOrder: inPhaseOrder)
    }
}
