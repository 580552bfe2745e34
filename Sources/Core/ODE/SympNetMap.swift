/// LA-SympNet (Jin et al. 2020): a learned discrete map z_t → z_{t+1} of the latent z = (q, p)
/// (q the first d/2 entries, p the last) that is symplectic by construction, with its exact inverse
/// for reverse time. Same shape as the project's LA-VPNet (`VPNet`), with the linear shears made
/// symmetric:
///
///     [LinM → ActM] × layers → LinM
///     LinM:  p ← p + q·S₁, q ← q + p·S₂, …  (`sublayers` shears alternating, S = A + Aᵀ), then z ← z + b
///     ActM:  p ← p + a⊙tanh(q)  (even layers, "up")   or   q ← q + a⊙tanh(p)  (odd layers, "low")
///
/// Each shear adds to one half the gradient of a function of the other half (½·qᵀSq or
/// Σ a_i·log cosh q_i), so it is the time-1 flow of a Hamiltonian and symplectic; compositions of
/// symplectic maps are symplectic (Jacobian determinant exactly 1). The map is inverted by
/// undoing the shears in reverse order, which is exact up to Float rounding.
///
/// Parameters: `<name>.linear.<l>.A<i>` [m, m] (S = A + Aᵀ), `<name>.linear.<l>.bias` [d],
/// `<name>.activation.<l>.a` [m]; A, a ~ N(0, 0.01²), b = 0, so the initial map is close to the
/// identity, as a one-frame map should be.
public final class SympNetMap {
    public let store: ParameterStore
    public let dimension: Int
    public let half: Int
    let steps: [Step]

    enum Step {
        case shear(Param, target: Half)
        case bias(Param)
        case gate(Param, target: Half)
    }

    enum Half { case q, p }

    public convenience init(dimension: Int, layers: Int = 3, sublayers: Int = 2, seed: UInt64, name: String = "sympnet") throws {
        try self.init(store: ParameterStore(seed: seed), name: name, dimension: dimension, layers: layers, sublayers: sublayers)
    }

    public init(store: ParameterStore, name: String = "sympnet", dimension: Int, layers: Int = 3, sublayers: Int = 2) throws {
        guard dimension >= 2, dimension % 2 == 0 else {
            throw ODEError.invalidArgument("SympNetMap: dimension \(dimension) must be even (z = (q, p) halves); use 2 or 8")
        }
        guard layers >= 1, sublayers >= 1 else {
            throw ODEError.invalidArgument("SympNetMap: layers = \(layers), sublayers = \(sublayers); both must be ≥ 1")
        }
        self.store = store
        self.dimension = dimension
        let m = dimension / 2
        half = m
        var steps: [Step] = []
        func linear(_ l: Int) {
            for i in 0..<sublayers {
                let a = store.addParameter("\(name).linear.\(l).A\(i)", shape: [m, m], initializer: .normal(std: 0.01))
                steps.append(.shear(a, target: i % 2 == 0 ? .p : .q))
            }
            steps.append(.bias(store.addParameter("\(name).linear.\(l).bias", shape: [dimension], initializer: .constant(0))))
        }
        for l in 0..<layers {
            linear(l)
            let a = store.addParameter("\(name).activation.\(l).a", shape: [m], initializer: .normal(std: 0.01))
            steps.append(.gate(a, target: l % 2 == 0 ? .p : .q))
        }
        linear(layers)
        self.steps = steps
    }

    /// What `backward` needs: the source half (rows×m) read by every shear and gate, in order.
    public struct Cache {
        let rows: Int
        var sources: [[Float]]
    }

    /// z (rows×d flat) → Φ(z).
    public func forward(_ z: [Float]) -> [Float] { run(z, record: false).0 }

    /// z → Φ(z), keeping the cache for `backward`.
    public func forwardWithCache(_ z: [Float]) -> ([Float], Cache) {
        let (y, sources) = run(z, record: true)
        return (y, Cache(rows: z.count / dimension, sources: sources))
    }

    private func run(_ z: [Float], record: Bool) -> ([Float], [[Float]]) {
        precondition(z.count % dimension == 0, "SympNetMap.forward: \(z.count) values is not a whole number of \(dimension)-dim rows")
        var y = z
        var sources: [[Float]] = []
        let rows = z.count / dimension
        for step in steps {
            switch step {
            case .shear(let a, let target):
                if record { sources.append(halfOf(y, other(target), rows)) }
                applyShear(&y, a, target, rows, sign: 1)
            case .bias(let b):
                applyBias(&y, b, rows, sign: 1)
            case .gate(let a, let target):
                if record { sources.append(halfOf(y, other(target), rows)) }
                applyGate(&y, a, target, rows, sign: 1)
            }
        }
        return (y, sources)
    }

    /// Φ⁻¹(y): the shears undone in reverse order.
    public func inverse(_ y: [Float]) -> [Float] {
        precondition(y.count % dimension == 0, "SympNetMap.inverse: \(y.count) values is not a whole number of \(dimension)-dim rows")
        var z = y
        let rows = y.count / dimension
        for step in steps.reversed() {
            switch step {
            case .shear(let a, let target): applyShear(&z, a, target, rows, sign: -1)
            case .bias(let b): applyBias(&z, b, rows, sign: -1)
            case .gate(let a, let target): applyGate(&z, a, target, rows, sign: -1)
            }
        }
        return z
    }

    /// dy (rows×d) → dz; ADDS every parameter's gradient into `parameterGradients` (laid out like
    /// `store.gradients`).
    public func backward(_ dy: [Float], cache: Cache, parameterGradients g: UnsafeMutablePointer<Float>) -> [Float] {
        let rows = cache.rows, d = dimension, m = half
        precondition(dy.count == rows * d, "SympNetMap.backward: \(dy.count) values, expected \(rows * d)")
        var dz = dy
        var source = cache.sources.count
        for step in steps.reversed() {
            switch step {
            case .shear(let a, let target):
                // y_t = x_t + x_o·S (S = A + Aᵀ): dx_o += dy_t·S, dS = x_oᵀdy_t, dA = dS + dSᵀ.
                source -= 1
                let x = cache.sources[source]
                let s = symmetric(a), ga = g + a.offset
                let (to, oo) = (offset(target), offset(other(target)))
                for r in 0..<rows {
                    for i in 0..<m {
                        var acc: Float = 0
                        for j in 0..<m { acc += dz[r * d + to + j] * s[i * m + j] }
                        dz[r * d + oo + i] += acc
                    }
                }
                for i in 0..<m {
                    for j in 0..<m {
                        var acc: Float = 0
                        for r in 0..<rows { acc += x[r * m + i] * dz[r * d + to + j] }
                        ga[i * m + j] += acc
                        ga[j * m + i] += acc
                    }
                }
            case .bias(let b):
                let gb = g + b.offset
                for r in 0..<rows { for j in 0..<d { gb[j] += dz[r * d + j] } }
            case .gate(let a, let target):
                // y_t = x_t + a⊙tanh(x_o): dx_o += dy_t⊙a⊙(1 − tanh²), da += Σ dy_t⊙tanh(x_o).
                source -= 1
                let x = cache.sources[source]
                let av = store.value(a), ga = g + a.offset
                let (to, oo) = (offset(target), offset(other(target)))
                for r in 0..<rows {
                    for j in 0..<m {
                        let t = FastTanh.tanh(x[r * m + j]), dt = dz[r * d + to + j]
                        ga[j] += dt * t
                        dz[r * d + oo + j] += dt * av[j] * (1 - t * t)
                    }
                }
            }
        }
        return dz
    }

    // MARK: - kernels (m = d/2 is 1 or 4 in CpAE, far below where BLAS pays)

    private func other(_ h: Half) -> Half { h == .p ? .q : .p }
    private func offset(_ h: Half) -> Int { h == .q ? 0 : half }

    private func halfOf(_ z: [Float], _ h: Half, _ rows: Int) -> [Float] {
        let o = offset(h), d = dimension, m = half
        var out = [Float](repeating: 0, count: rows * m)
        for r in 0..<rows { for j in 0..<m { out[r * m + j] = z[r * d + o + j] } }
        return out
    }

    private func symmetric(_ a: Param) -> [Float] {
        let m = half, v = store.value(a)
        var s = [Float](repeating: 0, count: m * m)
        for i in 0..<m { for j in 0..<m { s[i * m + j] = v[i * m + j] + v[j * m + i] } }
        return s
    }

    private func applyShear(_ z: inout [Float], _ a: Param, _ target: Half, _ rows: Int, sign: Float) {
        let m = half, d = dimension, s = symmetric(a)
        let (to, oo) = (offset(target), offset(other(target)))
        for r in 0..<rows {
            for j in 0..<m {
                var acc: Float = 0
                for i in 0..<m { acc += z[r * d + oo + i] * s[i * m + j] }
                z[r * d + to + j] += sign * acc
            }
        }
    }

    private func applyBias(_ z: inout [Float], _ b: Param, _ rows: Int, sign: Float) {
        let v = store.value(b), d = dimension
        for r in 0..<rows { for j in 0..<d { z[r * d + j] += sign * v[j] } }
    }

    private func applyGate(_ z: inout [Float], _ a: Param, _ target: Half, _ rows: Int, sign: Float) {
        let m = half, d = dimension, av = store.value(a)
        let (to, oo) = (offset(target), offset(other(target)))
        for r in 0..<rows { for j in 0..<m { z[r * d + to + j] += sign * av[j] * FastTanh.tanh(z[r * d + oo + j]) } }
    }
}
