/// A Hamiltonian neural network (HNN) field. State ordering: z = (q, p), q the first d/2 entries,
/// p the last d/2. A scalar
///
///     H(z) = w₃ · tanh(W₂·tanh(W₁·z + b₁) + b₂)      (MLP d → w → w → 1, tanh)
///
/// defines the field  dq/dt = ∂H/∂p,  dp/dt = −∂H/∂q,  i.e. f = J·∇H with J = [[0, I], [−I, 0]].
/// Its divergence tr(J·∇²H) is 0 (J antisymmetric, ∇²H symmetric), so its flow preserves volume
/// (and, exactly, the symplectic form). H's output bias is omitted: a constant never changes f.
///
/// Parameters: `<name>.layers.0.weight` [w, d], `.0.bias` [w], `.1.weight` [w, w], `.1.bias` [w],
/// `.2.weight` [1, w]; orthogonal init (gain 1), zero biases, like the MLP field.
///
/// Training needs ∂/∂θ of a cotangent's pairing with ∇H — a second-order derivative. With
/// r = Jᵀ·v̄ = (−v̄_p, v̄_q), v̄·f = r·∇H(z) = d/dε H(z + ε r) =: φ, and φ is computed by the
/// forward-mode (tangent) pass
///
///     u̇₁ = W₁r,  ȧ₁ = σ₁⊙u̇₁,  u̇₂ = W₂ȧ₁,  ȧ₂ = σ₂⊙u̇₂,  φ = w₃·ȧ₂      (σ_l = 1 − a_l²)
///
/// whose ordinary reverse pass gives ∂φ/∂z and ∂φ/∂θ (derivation in `pullback`; checked by
/// finite differences in ODEHamiltonianTests).
public final class HamiltonianField: VectorField {
    public let store: ParameterStore
    public let dimension: Int
    public let width: Int
    public let w1: Param, b1: Param, w2: Param, b2: Param, w3: Param

    public convenience init(dimension: Int, width: Int, seed: UInt64, name: String = "hnn") throws {
        try self.init(store: ParameterStore(seed: seed), name: name, dimension: dimension, width: width)
    }

    public init(store: ParameterStore, name: String = "hnn", dimension: Int, width: Int) throws {
        guard dimension >= 2, dimension % 2 == 0 else {
            throw ODEError.invalidArgument("HamiltonianField: dimension \(dimension) must be even (z = (q, p) halves); use 2 or 8")
        }
        guard width >= 1 else { throw ODEError.invalidArgument("HamiltonianField: width \(width) must be ≥ 1") }
        self.store = store
        self.dimension = dimension
        self.width = width
        w1 = store.addParameter("\(name).layers.0.weight", shape: [width, dimension], initializer: .orthogonal(gain: 1))
        b1 = store.addParameter("\(name).layers.0.bias", shape: [width], initializer: .constant(0))
        w2 = store.addParameter("\(name).layers.1.weight", shape: [width, width], initializer: .orthogonal(gain: 1))
        b2 = store.addParameter("\(name).layers.1.bias", shape: [width], initializer: .constant(0))
        w3 = store.addParameter("\(name).layers.2.weight", shape: [1, width], initializer: .orthogonal(gain: 1))
    }

    /// Record: z, a₁, a₂.
    public var recordFloatsPerRow: Int { dimension + 2 * width }
    /// Scratch: evaluate needs a₁, a₂, g₂, g₁, ∇H (4w + d); pullback r, u̇₁, ȧ₁, [ū̇₂; u̇₂→ū₂], [ǡ₁; ā₁] (7w + d).
    public var scratchFloatsPerRow: Int { dimension + 7 * width }
    public var multiplyAddsPerRow: Int { 2 * dimension * width + 2 * width * width }

    /// H(z) per row (tests, energy monitoring).
    public func hamiltonian(_ z: [Float]) -> [Float] {
        let d = dimension, w = width, rows = z.count / d
        var a1 = [Float](repeating: 0, count: rows * w), a2 = a1
        z.withUnsafeBufferPointer { zp in
            a1.withUnsafeMutableBufferPointer { a1p in
                a2.withUnsafeMutableBufferPointer { a2p in
                    forwardH(zp.baseAddress!, rows: rows, a1: a1p.baseAddress!, a2: a2p.baseAddress!)
                }
            }
        }
        let v = store.value(w3)
        return (0..<rows).map { r in (0..<w).reduce(Float(0)) { $0 + v[$1] * a2[r * w + $1] } }
    }

    private func forwardH(_ z: UnsafePointer<Float>, rows: Int, a1: UnsafeMutablePointer<Float>, a2: UnsafeMutablePointer<Float>) {
        let d = dimension, w = width
        sgemm(transB: true, m: rows, n: w, k: d, a: z, lda: d, b: store.value(w1), ldb: d, c: a1, ldc: w)
        FastTanh.biasTanh(a1, rows: rows, cols: w, bias: store.value(b1))
        sgemm(transB: true, m: rows, n: w, k: w, a: a1, lda: w, b: store.value(w2), ldb: w, c: a2, ldc: w)
        FastTanh.biasTanh(a2, rows: rows, cols: w, bias: store.value(b2))
    }

    public func evaluate(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                         record: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        let d = dimension, w = width, m = d / 2, n = rows * w
        let a1: UnsafeMutablePointer<Float>, a2: UnsafeMutablePointer<Float>, rest: UnsafeMutablePointer<Float>
        if let record {
            record.update(from: x, count: rows * d)
            a1 = record + rows * d; a2 = a1 + n; rest = scratch
        } else {
            a1 = scratch; a2 = scratch + n; rest = scratch + 2 * n
        }
        forwardH(x, rows: rows, a1: a1, a2: a2)
        // ∇H by reverse mode: g₂ = w₃⊙σ₂, g₁ = (g₂·W₂)⊙σ₁, ∇H = g₁·W₁.
        let g2 = rest, g1 = rest + n, grad = rest + 2 * n
        let v3 = store.value(w3)
        for r in 0..<rows { for j in 0..<w { let y = a2[r * w + j]; g2[r * w + j] = v3[j] * (1 - y * y) } }
        sgemm(m: rows, n: w, k: w, a: g2, lda: w, b: store.value(w2), ldb: w, c: g1, ldc: w)
        for i in 0..<n { let y = a1[i]; g1[i] *= 1 - y * y }
        sgemm(m: rows, n: d, k: w, a: g1, lda: w, b: store.value(w1), ldb: d, c: grad, ldc: d)
        for r in 0..<rows {
            for j in 0..<m {
                output[r * d + j] = grad[r * d + m + j]        // dq/dt = ∂H/∂p
                output[r * d + m + j] = -grad[r * d + j]       // dp/dt = −∂H/∂q
            }
        }
    }

    /// Reverse pass of the tangent computation φ = w₃·ȧ₂ (see the type's comment), per row:
    ///
    ///     w̄₃ += ȧ₂;  ū̇₂ = w₃⊙σ₂;  ū₂ = −2·a₂⊙σ₂⊙w₃⊙u̇₂   (through σ₂ = 1 − a₂², a₂ = tanh u₂)
    ///     W̄₂ += ū̇₂ᵀȧ₁ + ū₂ᵀa₁;  b̄₂ += ū₂;  [ǡ₁; ā₁] = [ū̇₂; ū₂]·W₂
    ///     ū̇₁ = ǡ₁⊙σ₁;  ū₁ = (ā₁ − 2·a₁⊙ǡ₁⊙u̇₁)⊙σ₁
    ///     W̄₁ += ū̇₁ᵀr + ū₁ᵀz;  b̄₁ += ū₁;  z̄ = ū₁·W₁      (r̄ is not needed: r is the cotangent)
    public func pullback(record: UnsafePointer<Float>, rows: Int, cotangent: UnsafePointer<Float>,
                         inputGradient: UnsafeMutablePointer<Float>, parameterGradients: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>) {
        let d = dimension, w = width, m = d / 2, n = rows * w
        let z = record, a1 = record + rows * d, a2 = a1 + n
        let r = scratch, u1dot = scratch + rows * d, a1dot = u1dot + n
        let bStack = a1dot + n          // [ū̇₂ (rows×w); u̇₂ → ū₂ (rows×w)]
        let dStack = bStack + 2 * n     // [ǡ₁; ā₁]
        let u2dot = bStack + n
        for row in 0..<rows {
            for j in 0..<m {
                r[row * d + j] = -cotangent[row * d + m + j]
                r[row * d + m + j] = cotangent[row * d + j]
            }
        }
        let v3 = store.value(w3)
        let gW1 = parameterGradients + w1.offset, gB1 = parameterGradients + b1.offset
        let gW2 = parameterGradients + w2.offset, gB2 = parameterGradients + b2.offset, gW3 = parameterGradients + w3.offset
        // Tangent pass.
        sgemm(transB: true, m: rows, n: w, k: d, a: r, lda: d, b: store.value(w1), ldb: d, c: u1dot, ldc: w)
        for i in 0..<n { let y = a1[i]; a1dot[i] = (1 - y * y) * u1dot[i] }
        sgemm(transB: true, m: rows, n: w, k: w, a: a1dot, lda: w, b: store.value(w2), ldb: w, c: u2dot, ldc: w)
        for row in 0..<rows {
            for j in 0..<w {
                let i = row * w + j, y = a2[i], s2 = 1 - y * y, ud = u2dot[i]
                gW3[j] += s2 * ud
                bStack[i] = v3[j] * s2
                let u2bar = -2 * y * s2 * v3[j] * ud
                u2dot[i] = u2bar
                gB2[j] += u2bar
            }
        }
        let u2bar = UnsafePointer(u2dot)
        sgemm(transA: true, m: w, n: w, k: rows, a: bStack, lda: w, b: a1dot, ldb: w, beta: 1, c: gW2, ldc: w)
        sgemm(transA: true, m: w, n: w, k: rows, a: u2bar, lda: w, b: a1, ldb: w, beta: 1, c: gW2, ldc: w)
        sgemm(m: 2 * rows, n: w, k: w, a: bStack, lda: w, b: store.value(w2), ldb: w, c: dStack, ldc: w)
        let a1check = dStack, a1bar = dStack + n
        for i in 0..<n {
            let y = a1[i], s1 = 1 - y * y, c = a1check[i]
            a1check[i] = c * s1                                    // ū̇₁
            a1bar[i] = (a1bar[i] - 2 * y * c * u1dot[i]) * s1      // ū₁
        }
        Dense.addColumnSums(a1bar, rows: rows, cols: w, into: gB1)
        sgemm(transA: true, m: w, n: d, k: rows, a: a1check, lda: w, b: r, ldb: d, beta: 1, c: gW1, ldc: d)
        sgemm(transA: true, m: w, n: d, k: rows, a: a1bar, lda: w, b: z, ldb: d, beta: 1, c: gW1, ldc: d)
        sgemm(m: rows, n: d, k: w, a: a1bar, lda: w, b: store.value(w1), ldb: d, c: inputGradient, ldc: d)
    }
}
