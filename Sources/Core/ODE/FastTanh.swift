/// A vectorised tanh for the latent vector fields, and the fused passes around it.
///
/// Why not `Foundation.tanh`: the reference training step (batch 20,000, width 256, midpoint × 2)
/// evaluates 41 M tanh per iteration; glibc's scalar `tanhf` at ~10 ns each would cost ~0.4 s, more
/// than the GEMMs. This is Eigen's rational approximation (odd degree-13 numerator over even
/// degree-6 denominator, clamped to |x| ≤ 7.9053, where tanh rounds to ±1 in Float), written with
/// plain IEEE multiplies and adds only — Swift does not contract them into FMAs — so the result is
/// bit-identical on every x86-64 CPU (AVX2 or AVX-512) and in the SIMD and scalar paths.
/// Accuracy against float64 tanh is tested (ODEFastTanhTests).
public enum FastTanh {
    typealias V = SIMD8<Float>

    @usableFromInline static let clamp: Float = 7.90531110763549805
    @usableFromInline static let tiny: Float = 0.0004
    @usableFromInline static let a1: Float = 4.89352455891786e-03
    @usableFromInline static let a3: Float = 6.37261928875436e-04
    @usableFromInline static let a5: Float = 1.48572235717979e-05
    @usableFromInline static let a7: Float = 5.12229709037114e-08
    @usableFromInline static let a9: Float = -8.60467152213735e-11
    @usableFromInline static let a11: Float = 2.00018790482477e-13
    @usableFromInline static let a13: Float = -2.76076847742355e-16
    @usableFromInline static let b0: Float = 4.89352518554385e-03
    @usableFromInline static let b2: Float = 2.26843463243900e-03
    @usableFromInline static let b4: Float = 1.18534705686654e-04
    @usableFromInline static let b6: Float = 1.19825839466702e-06

    /// tanh of one value (same operations as the SIMD path, lane for lane).
    @inline(__always)
    public static func tanh(_ x: Float) -> Float {
        if x.isNaN { return x }
        if Swift.abs(x) < tiny { return x }   // the rational form loses relative accuracy near 0
        let xc = Swift.min(Swift.max(x, -clamp), clamp)
        let x2 = xc * xc
        var p = x2 * a13 + a11
        p = p * x2 + a9; p = p * x2 + a7; p = p * x2 + a5; p = p * x2 + a3; p = p * x2 + a1
        p = p * xc
        var q = x2 * b6 + b4
        q = q * x2 + b2; q = q * x2 + b0
        return p / q
    }

    @inline(__always)
    static func tanh(_ x: V) -> V {
        // Clamp by masked selects: the stdlib's pointwiseMin/Max were left as out-of-line calls
        // (perf: 4.8% of a `bench ode` iteration); the selects inline to vector blends, same values.
        let c = V(repeating: clamp)
        var xc = x
        xc.replace(with: c, where: x .> c)
        xc.replace(with: -c, where: x .< -c)
        let x2 = xc * xc
        var p = x2 * V(repeating: a13) + V(repeating: a11)
        p = p * x2 + V(repeating: a9); p = p * x2 + V(repeating: a7); p = p * x2 + V(repeating: a5)
        p = p * x2 + V(repeating: a3); p = p * x2 + V(repeating: a1)
        p = p * xc
        var q = x2 * V(repeating: b6) + V(repeating: b4)
        q = q * x2 + V(repeating: b2); q = q * x2 + V(repeating: b0)
        var r = p / q
        let t = V(repeating: tiny)
        r.replace(with: x, where: (x .< t) .& (x .> -t))
        r.replace(with: x, where: x .!= x)   // NaN stays NaN (min/max would have hidden it)
        return r
    }

    /// a[r, c] ← tanh(a[r, c] + bias[c]) for a rows×cols row-major block (the bias-add and
    /// activation after a GEMM, in one pass over memory).
    public static func biasTanh(_ a: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        let w = V.scalarCount
        let vecCols = cols - cols % w
        let raw = UnsafeMutableRawPointer(a), braw = UnsafeRawPointer(bias)
        for r in 0..<rows {
            let base = r * cols
            var c = 0
            while c < vecCols {
                let o = (base + c) * 4
                let v = raw.loadUnaligned(fromByteOffset: o, as: V.self) + braw.loadUnaligned(fromByteOffset: c * 4, as: V.self)
                raw.storeBytes(of: tanh(v), toByteOffset: o, as: V.self)
                c += w
            }
            while c < cols { a[base + c] = tanh(a[base + c] + bias[c]); c += 1 }
        }
    }

    /// δ[r, c] ← δ[r, c]·(1 − y[r, c]²) (tanh's derivative from its output y), and
    /// biasGradient[c] += Σ_r δ[r, c] of the new δ — the backward of `biasTanh` in one pass.
    public static func tanhBackward(_ delta: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>,
                                    rows: Int, cols: Int, biasGradient: UnsafeMutablePointer<Float>) {
        let w = V.scalarCount
        let vecCols = cols - cols % w
        let draw = UnsafeMutableRawPointer(delta), yraw = UnsafeRawPointer(y), graw = UnsafeMutableRawPointer(biasGradient)
        let one = V(repeating: 1)
        for r in 0..<rows {
            let base = r * cols
            var c = 0
            while c < vecCols {
                let o = (base + c) * 4
                let yv = yraw.loadUnaligned(fromByteOffset: o, as: V.self)
                let d = draw.loadUnaligned(fromByteOffset: o, as: V.self) * (one - yv * yv)
                draw.storeBytes(of: d, toByteOffset: o, as: V.self)
                let g = graw.loadUnaligned(fromByteOffset: c * 4, as: V.self)
                graw.storeBytes(of: g + d, toByteOffset: c * 4, as: V.self)
                c += w
            }
            while c < cols {
                let yv = y[base + c]
                let d = delta[base + c] * (1 - yv * yv)
                delta[base + c] = d
                biasGradient[c] += d
                c += 1
            }
        }
    }
}

/// Small dense helpers shared by the fields and integrators (rows × cols row-major blocks).
enum Dense {
    /// y[r, c] += bias[c].
    static func addBias(_ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
        for r in 0..<rows { let b = r * cols; for c in 0..<cols { y[b + c] += bias[c] } }
    }

    /// out[c] += Σ_r x[r, c].
    static func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { let b = r * cols; for c in 0..<cols { out[c] += x[b + c] } }
    }

    /// y[i] = x[i] + alpha·v[i].
    @inline(__always)
    static func axpy(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ alpha: Float, _ v: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = x[i] + alpha * v[i] }
    }

    /// y[i] += alpha·v[i].
    @inline(__always)
    static func addScaled(_ y: UnsafeMutablePointer<Float>, _ alpha: Float, _ v: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] += alpha * v[i] }
    }
}
