import Foundation

/// Errors building a VPNet.
public enum VPNetError: Error, CustomStringConvertible, Equatable {
    case oddDimension(Int)

    public var description: String {
        switch self {
        case .oddDimension(let d):
            return "VPNet: latent dimension \(d) is odd; LA-VPNet splits z into halves p and q, so the "
                + "latent dimension must be even (use 2 or 8 as in CpAE)"
        }
    }
}

/// The LA-VPNet helper map Φ_VP of CpAE training (docs/method.md §Objectives): a volume-preserving map of
/// the latent z = (p, q), p the first d/2 entries and q the last, with step h = 1:
///
///     LinM1 → ActM1 ("up") → LinM2 → ActM2 ("low") → LinMout
///
/// LinM: p ← p + q·S1, then q ← q + p·S2 (row vectors, S unconstrained), then p += bp, q += bq.
/// ActM up: p ← p + sigmoid(q)⊙a;  ActM low: q ← q + sigmoid(p)⊙a.
///
/// Every step changes one half by a function of the other, so the Jacobian determinant is exactly 1.
/// Parameter names equal the reference's state_dict keys (`<name>.modus.LinM1.params.S1`, …,
/// `<name>.modus.ActM1.params.a`, …), so a PyTorch `load_state_dict` accepts our checkpoint.
public final class VPNet {
    public let dimension: Int
    public let half: Int
    public unowned let store: ParameterStore
    let steps: [Step]

    /// One shear of the sequence; `target` is the half it changes (the other half is its input).
    enum Step {
        case linear(matrix: Param, target: Half)
        case bias(p: Param, q: Param)
        case gate(a: Param, target: Half)
    }

    enum Half { case p, q }

    /// Registers 3·(2m² + 2m) + 2m parameters (m = d/2): S ~ N(0, 0.01²), a ~ N(0, 0.01²), b = 0.
    public init(store: ParameterStore, name: String, dimension: Int) throws {
        guard dimension > 0, dimension % 2 == 0 else { throw VPNetError.oddDimension(dimension) }
        self.store = store
        self.dimension = dimension
        let m = dimension / 2
        half = m
        var steps: [Step] = []
        func linearModule(_ key: String) {
            let prefix = "\(name).modus.\(key).params"
            let s1 = store.addParameter("\(prefix).S1", shape: [m, m], initializer: .normal(std: 0.01))
            let s2 = store.addParameter("\(prefix).S2", shape: [m, m], initializer: .normal(std: 0.01))
            let bp = store.addParameter("\(prefix).bp", shape: [m], initializer: .constant(0))
            let bq = store.addParameter("\(prefix).bq", shape: [m], initializer: .constant(0))
            steps += [.linear(matrix: s1, target: .p), .linear(matrix: s2, target: .q), .bias(p: bp, q: bq)]
        }
        func activationModule(_ key: String, target: Half) {
            let a = store.addParameter("\(name).modus.\(key).params.a", shape: [m], initializer: .normal(std: 0.01))
            steps.append(.gate(a: a, target: target))
        }
        // Registration order = the reference's state_dict order.
        linearModule("LinM1")
        activationModule("ActM1", target: .p)    // "up"
        linearModule("LinM2")
        activationModule("ActM2", target: .q)    // "low"
        linearModule("LinMout")
        self.steps = steps
    }

    /// z: [N, d] → Φ(z): [N, d].
    public func forward(_ z: Tensor) -> (Tensor, VPNetCache) {
        precondition(z.rank == 2 && z.shape[1] == dimension,
                     "VPNet.forward: input shape \(z.shape), expected [N, \(dimension)]")
        let n = z.shape[0], m = half
        var p = [Float](repeating: 0, count: n * m), q = p
        split(z, into: &p, &q)
        var sources: [[Float]] = []   // the unchanged half each linear/gate step read
        for step in steps {
            switch step {
            case .linear(let s, let target):
                if target == .p { sources.append(q); addRowTimes(q, store.value(s), into: &p, n: n, m: m) }
                else { sources.append(p); addRowTimes(p, store.value(s), into: &q, n: n, m: m) }
            case .bias(let bp, let bq):
                addBroadcast(store.value(bp), into: &p, n: n, m: m)
                addBroadcast(store.value(bq), into: &q, n: n, m: m)
            case .gate(let a, let target):
                let av = store.value(a)
                if target == .p { sources.append(q); addGate(q, av, into: &p, n: n, m: m) }
                else { sources.append(p); addGate(p, av, into: &q, n: n, m: m) }
            }
        }
        return (join(p, q, n: n), VPNetCache(batch: n, sources: sources))
    }

    /// dy: [N, d] → dz: [N, d]; ACCUMULATES every parameter's gradient into the store.
    /// In the deterministic mode (`ParameterStore.exact`) each sample goes through on its own and its
    /// parameter gradient is folded into the exact sums, so no Float sum runs over the batch.
    public func backward(_ dy: Tensor, cache: VPNetCache) -> Tensor {
        guard store.exact != nil, cache.batch > 1 else { return backwardRows(dy, cache: cache) }
        let n = cache.batch, m = half, d = dimension
        let dz = Tensor(uninitialized: [n, d])
        for r in 0..<n {
            let row = Tensor(shape: [1, d], values: Array(UnsafeBufferPointer(start: dy.data + r * d, count: d)))
            let rowCache = VPNetCache(batch: 1, sources: cache.sources.map { Array($0[(r * m)..<((r + 1) * m)]) })
            let g = backwardRows(row, cache: rowCache)
            (dz.data + r * d).update(from: g.data, count: d)
        }
        return dz
    }

    /// Every parameter, for folding one sample's gradient.
    private var parameters: [Param] {
        steps.flatMap { step -> [Param] in
            switch step {
            case .linear(let s, _): return [s]
            case .bias(let bp, let bq): return [bp, bq]
            case .gate(let a, _): return [a]
            }
        }
    }

    private func backwardRows(_ dy: Tensor, cache: VPNetCache) -> Tensor {
        defer { if store.exact != nil { for p in parameters { store.fold(p) } } }
        let n = cache.batch, m = half
        precondition(dy.shape == [n, dimension], "VPNet.backward: gradient shape \(dy.shape), expected [\(n), \(dimension)]")
        var dp = [Float](repeating: 0, count: n * m), dq = dp
        split(dy, into: &dp, &dq)
        var source = cache.sources.count
        for step in steps.reversed() {
            switch step {
            case .linear(let s, let target):
                // y_t = x_t + x_o·S: dx_o += dy_t·Sᵀ, dS += x_oᵀ·dy_t.
                source -= 1
                let x = cache.sources[source]
                if target == .p { shearBackward(x: x, s: s, dTarget: dp, dOther: &dq, n: n, m: m) }
                else { shearBackward(x: x, s: s, dTarget: dq, dOther: &dp, n: n, m: m) }
            case .bias(let bp, let bq):
                sumRows(dp, into: store.gradient(bp), n: n, m: m)
                sumRows(dq, into: store.gradient(bq), n: n, m: m)
            case .gate(let a, let target):
                // y_t = x_t + σ(x_o)⊙a: dx_o += dy_t⊙a⊙σ'(x_o), da += Σ_n dy_t⊙σ(x_o).
                source -= 1
                let x = cache.sources[source]
                if target == .p { gateBackward(x: x, a: a, dTarget: dp, dOther: &dq, n: n, m: m) }
                else { gateBackward(x: x, a: a, dTarget: dq, dOther: &dp, n: n, m: m) }
            }
        }
        return join(dp, dq, n: n)
    }

    // MARK: - small dense kernels (m = d/2 is 1 or 4 in CpAE, far below where BLAS pays)

    private func split(_ z: Tensor, into p: inout [Float], _ q: inout [Float]) {
        let n = z.shape[0], m = half, d = dimension
        for r in 0..<n {
            for j in 0..<m { p[r * m + j] = z[r * d + j]; q[r * m + j] = z[r * d + m + j] }
        }
    }

    private func join(_ p: [Float], _ q: [Float], n: Int) -> Tensor {
        let m = half, d = dimension
        let y = Tensor(uninitialized: [n, d])
        for r in 0..<n {
            for j in 0..<m { y[r * d + j] = p[r * m + j]; y[r * d + m + j] = q[r * m + j] }
        }
        return y
    }

    /// y[r, j] += Σ_i x[r, i]·S[i, j].
    private func addRowTimes(_ x: [Float], _ s: UnsafePointer<Float>, into y: inout [Float], n: Int, m: Int) {
        for r in 0..<n {
            for j in 0..<m {
                var acc: Float = 0
                for i in 0..<m { acc += x[r * m + i] * s[i * m + j] }
                y[r * m + j] += acc
            }
        }
    }

    private func addBroadcast(_ b: UnsafePointer<Float>, into y: inout [Float], n: Int, m: Int) {
        for r in 0..<n { for j in 0..<m { y[r * m + j] += b[j] } }
    }

    private func addGate(_ x: [Float], _ a: UnsafePointer<Float>, into y: inout [Float], n: Int, m: Int) {
        for r in 0..<n { for j in 0..<m { y[r * m + j] += sigmoid(x[r * m + j]) * a[j] } }
    }

    private func shearBackward(x: [Float], s: Param, dTarget: [Float], dOther: inout [Float], n: Int, m: Int) {
        let sv = store.value(s), sg = store.gradient(s)
        for r in 0..<n {
            for i in 0..<m {
                var acc: Float = 0
                for j in 0..<m { acc += dTarget[r * m + j] * sv[i * m + j] }
                dOther[r * m + i] += acc
            }
        }
        for i in 0..<m {
            for j in 0..<m {
                var acc: Float = 0
                for r in 0..<n { acc += x[r * m + i] * dTarget[r * m + j] }
                sg[i * m + j] += acc
            }
        }
    }

    private func gateBackward(x: [Float], a: Param, dTarget: [Float], dOther: inout [Float], n: Int, m: Int) {
        let av = store.value(a), ag = store.gradient(a)
        for j in 0..<m {
            var acc: Float = 0
            for r in 0..<n {
                let sg = sigmoid(x[r * m + j])
                acc += dTarget[r * m + j] * sg
                dOther[r * m + j] += dTarget[r * m + j] * av[j] * sg * (1 - sg)
            }
            ag[j] += acc
        }
    }

    private func sumRows(_ g: [Float], into out: UnsafeMutablePointer<Float>, n: Int, m: Int) {
        for j in 0..<m {
            var acc: Float = 0
            for r in 0..<n { acc += g[r * m + j] }
            out[j] += acc
        }
    }

    @inline(__always) private func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
}

/// What VPNet.backward needs from the forward pass: the unchanged half read by each linear and
/// activation step, in order (N·d/2 floats each, 8 of them).
public struct VPNetCache {
    let batch: Int
    let sources: [[Float]]
}
