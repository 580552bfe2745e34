/// Dense linear least squares min‖A·x − b‖ in Double by Householder QR.
///
/// LAPACK's dgels/dgelsd are exported by the linked OpenBLAS, but the COpenBLAS module map exposes
/// only cblas.h; for the state probe's small problems (≤ a few hundred columns) a QR written here is
/// simpler than widening that shared module. QR on A itself (not the normal equations AᵀA, whose
/// condition number is squared — cubic monomials of latents are badly conditioned) keeps the fit
/// accurate. Columns are scaled to unit norm first; a column whose remaining norm falls below
/// `rankTolerance` × its original norm (linearly dependent on earlier ones) gets coefficient 0, so
/// a rank-deficient design still gives a least-squares fit instead of dividing by ~0.
public struct LeastSquares {
    public static let rankTolerance = 1e-10

    let rows: Int, columns: Int
    /// Householder vectors and R, column-major: column k's reflection starts at row `pivot[k]`.
    var qr: [Double]
    var tau: [Double]
    var scale: [Double]
    /// The row of R holding column k's diagonal, nil for a dependent column. Dependent columns do
    /// not use up a row, so the later columns are reduced exactly as if the dependent ones were
    /// absent: the fit is the least-squares fit on the independent columns.
    var pivot: [Int?]

    /// Factors `a` (rows × columns, row-major).
    public init(_ a: [Double], rows: Int, columns: Int) {
        precondition(a.count == rows * columns, "LeastSquares: \(a.count) values for \(rows)×\(columns)")
        precondition(rows >= columns, "LeastSquares: \(rows) rows cannot determine \(columns) coefficients")
        self.rows = rows; self.columns = columns
        var m = [Double](repeating: 0, count: rows * columns)
        var scale = [Double](repeating: 1, count: columns)
        for j in 0..<columns {
            var s = 0.0
            for i in 0..<rows { s += a[i * columns + j] * a[i * columns + j] }
            scale[j] = s > 0 ? s.squareRoot() : 1
            for i in 0..<rows { m[j * rows + i] = a[i * columns + j] / scale[j] }
        }
        var tau = [Double](repeating: 0, count: columns)
        var pivot = [Int?](repeating: nil, count: columns)
        var r = 0
        for k in 0..<columns {
            let base = k * rows
            var norm = 0.0
            for i in r..<rows { norm += m[base + i] * m[base + i] }
            norm = norm.squareRoot()
            // Scaled columns have norm 1 (or 0), so the remaining norm is relative.
            if norm < Self.rankTolerance { continue }
            pivot[k] = r
            let alpha = m[base + r] > 0 ? -norm : norm
            let v0 = m[base + r] - alpha
            // H = I − τ·v·vᵀ with v = (x − α·e_r)/v0 (so v_r = 1) maps x to α·e_r; τ = −v0/α
            // because vᵀv before scaling is −2α·v0.
            for i in (r + 1)..<rows { m[base + i] /= v0 }
            tau[k] = -v0 / alpha
            m[base + r] = alpha
            for j in (k + 1)..<columns {
                let cj = j * rows
                var dot = m[cj + r]
                for i in (r + 1)..<rows { dot += m[base + i] * m[cj + i] }
                dot *= tau[k]
                m[cj + r] -= dot
                for i in (r + 1)..<rows { m[cj + i] -= dot * m[base + i] }
            }
            r += 1
        }
        qr = m; self.tau = tau; self.scale = scale; self.pivot = pivot
    }

    /// The number of independent columns.
    public var rank: Int { pivot.compactMap { $0 }.count }

    /// The coefficients x minimising ‖A·x − b‖ (0 for dependent columns).
    public func solve(_ b: [Double]) -> [Double] {
        precondition(b.count == rows, "LeastSquares.solve: \(b.count) targets for \(rows) rows")
        var y = b
        for k in 0..<columns {        // y ← Qᵀb
            guard let r = pivot[k] else { continue }
            let base = k * rows
            var dot = y[r]
            for i in (r + 1)..<rows { dot += qr[base + i] * y[i] }
            dot *= tau[k]
            y[r] -= dot
            for i in (r + 1)..<rows { y[i] -= dot * qr[base + i] }
        }
        var x = [Double](repeating: 0, count: columns)
        for k in stride(from: columns - 1, through: 0, by: -1) {   // R x = Qᵀb, upper rows
            guard let r = pivot[k] else { continue }
            var s = y[r]
            for j in (k + 1)..<columns where pivot[j] != nil { s -= qr[j * rows + r] * x[j] }
            x[k] = s / qr[k * rows + r]
        }
        return zip(x, scale).map { $0 / $1 }
    }
}
