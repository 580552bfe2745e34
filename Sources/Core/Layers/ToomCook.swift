/// The transforms of a Winograd / Toom-Cook minimal-filtering algorithm F(m, r): m outputs of a 1-D
/// correlation with an r-tap filter from α = m + r − 1 multiplications,
///
///     y = Aᵀ [ (G g) ⊙ (Bᵀ d) ],      d: α inputs, g: r taps, y[i] = Σ_k g[k]·d[i + k].
///
/// Derivation (why these matrices): a correlation is the transpose of a polynomial product. With
/// E_n the α×n matrix that evaluates a degree-(n−1) polynomial at the points p_0 … p_{α−2} and ∞
/// (the ∞ row picks the leading coefficient), the product s = g ∗ h satisfies E_α s = (E_r g) ⊙ (E_m h),
/// so the convolution matrix is Conv(g) = E_α⁻¹ diag(E_r g) E_m and the correlation
/// y = Conv(g)ᵀ d = E_mᵀ [ (E_r g) ⊙ (E_α⁻ᵀ d) ]: A = E_m, G = E_r, Bᵀ = E_α⁻ᵀ.
/// The 2-D algorithm applies this along both axes: Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A.
///
/// The points are 0, ±1, ±½, ±2 (taken in that order, α − 1 of them), the usual choice for α ≤ 8:
/// small magnitudes keep the transforms' rounding error low (docs/method.md §Fast convolutions).
/// Matrices are built in Double and rounded once to Float.
struct ToomCook: Equatable {
    let m: Int, r: Int, alpha: Int
    /// Row-major, Double (for error estimates) and Float (for the kernels).
    let at: [Double]   // m × α
    let g: [Double]    // α × r
    let bt: [Double]   // α × α

    static let points: [Double] = [0, 1, -1, 0.5, -0.5, 2, -2]

    init(m: Int, r: Int) {
        let alpha = m + r - 1
        precondition(m >= 1 && r >= 1 && alpha - 1 <= ToomCook.points.count,
                     "Toom-Cook F(\(m), \(r)) needs α = \(alpha) ≤ \(ToomCook.points.count + 1)")
        self.m = m; self.r = r; self.alpha = alpha
        let p = Array(ToomCook.points.prefix(alpha - 1))
        /// α × n evaluation matrix.
        func evaluation(_ n: Int) -> [Double] {
            var e = [Double](repeating: 0, count: alpha * n)
            for (j, x) in p.enumerated() {
                var power = 1.0
                for k in 0..<n { e[j * n + k] = power; power *= x }
            }
            e[(alpha - 1) * n + n - 1] = 1
            return e
        }
        let em = evaluation(m)
        var at = [Double](repeating: 0, count: m * alpha)
        for j in 0..<alpha { for i in 0..<m { at[i * alpha + j] = em[j * m + i] } }
        self.at = at
        g = evaluation(r)
        let inverse = ToomCook.invert(evaluation(alpha), n: alpha)
        var bt = [Double](repeating: 0, count: alpha * alpha)
        for i in 0..<alpha { for j in 0..<alpha { bt[i * alpha + j] = inverse[j * alpha + i] } }
        self.bt = bt
    }

    fileprivate init(absoluteOf t: ToomCook) {
        m = t.m; r = t.r; alpha = t.alpha
        at = t.at.map(abs); g = t.g.map(abs); bt = t.bt.map(abs)
    }

    /// Gauss–Jordan with partial pivoting on a small, well-conditioned matrix.
    private static func invert(_ a: [Double], n: Int) -> [Double] {
        var m = a
        var inv = [Double](repeating: 0, count: n * n)
        for i in 0..<n { inv[i * n + i] = 1 }
        for col in 0..<n {
            var pivot = col
            for row in col..<n where abs(m[row * n + col]) > abs(m[pivot * n + col]) { pivot = row }
            precondition(m[pivot * n + col] != 0, "Toom-Cook points are not distinct")
            if pivot != col {
                for k in 0..<n { m.swapAt(pivot * n + k, col * n + k); inv.swapAt(pivot * n + k, col * n + k) }
            }
            let d = m[col * n + col]
            for k in 0..<n { m[col * n + k] /= d; inv[col * n + k] /= d }
            for row in 0..<n where row != col {
                let f = m[row * n + col]
                if f == 0 { continue }
                for k in 0..<n { m[row * n + k] -= f * m[col * n + k]; inv[row * n + k] -= f * inv[col * n + k] }
            }
        }
        // Entries are small dyadic rationals; snap the last bits of elimination noise.
        return inv.map { v in
            let s = (v * 65536).rounded() / 65536
            return abs(s - v) < 1e-12 ? s : v
        }
    }
}

/// The Float matrices the tile transforms read, in raw buffers: the transform loops run per band of
/// tiles, and Swift arrays there would cost reference counting on every access.
final class ToomCookTables {
    let tc: ToomCook
    /// Aᵀ, m × α, row-major.
    let at: UnsafeMutablePointer<Float>
    /// Bᵀ, α × α, row-major.
    let bt: UnsafeMutablePointer<Float>
    /// G, α × r, row-major.
    let g: UnsafeMutablePointer<Float>
    /// Bᵀ zero-padded to 8 × 8 (α ≤ 8), for the register-blocked input transform.
    let btPadded: UnsafeMutablePointer<Float>
    /// G zero-padded to α × 8 (row ξ: G[ξ][u] for u < r), for the register-blocked kernel transform.
    let gPadded: UnsafeMutablePointer<Float>
    /// Gᵀ zero-padded to r × 8 (row u: G[ξ][u] for ξ < α), for the register-blocked adjoint kernel
    /// transform (the weight gradient).
    let gtPadded: UnsafeMutablePointer<Float>

    /// With `absolute`, every entry is replaced by its magnitude: running a convolution through these
    /// on |x| and |w| gives |Aᵀ|(|G||w||Gᵀ| ⊙ |Bᵀ||x||B|)|A|, the quantity the rounding-error bound
    /// of the fast algorithm is proportional to (tests use it as their tolerance).
    init(_ tc: ToomCook, absolute: Bool = false) {
        let tc = absolute ? ToomCook(absoluteOf: tc) : tc
        self.tc = tc
        at = .allocate(capacity: tc.at.count)
        bt = .allocate(capacity: tc.bt.count)
        g = .allocate(capacity: tc.g.count)
        for (i, v) in tc.at.enumerated() { at[i] = Float(v) }
        for (i, v) in tc.bt.enumerated() { bt[i] = Float(v) }
        for (i, v) in tc.g.enumerated() { g[i] = Float(v) }
        btPadded = .allocate(capacity: 64)
        btPadded.initialize(repeating: 0, count: 64)
        let alpha = tc.alpha
        if alpha <= 8 { for i in 0..<alpha { for j in 0..<alpha { btPadded[i * 8 + j] = bt[i * alpha + j] } } }
        let r = tc.g.count / alpha
        gPadded = .allocate(capacity: 8 * alpha)
        gPadded.initialize(repeating: 0, count: 8 * alpha)
        if alpha <= 8 { for x in 0..<alpha { for u in 0..<r { gPadded[x * 8 + u] = g[x * r + u] } } }
        gtPadded = .allocate(capacity: 8 * r)
        gtPadded.initialize(repeating: 0, count: 8 * r)
        if alpha <= 8 { for u in 0..<r { for x in 0..<alpha { gtPadded[u * 8 + x] = g[x * r + u] } } }
    }

    deinit { at.deallocate(); bt.deallocate(); g.deallocate(); btPadded.deallocate(); gPadded.deallocate(); gtPadded.deallocate() }
}
