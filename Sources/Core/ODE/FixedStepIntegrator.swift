import Dispatch

/// Integrates a `VectorField` with a fixed-step explicit Runge–Kutta method and backpropagates
/// through every stage — into the parameters (`store.gradients`) and, on request, into the
/// starting states. This is the training path of the latent Neural ODE and the fixed-step
/// rollout path of the evaluator.
///
/// One frame of length h is `substeps` steps of τ = h/substeps (the reference: midpoint, 2
/// substeps, h = 0.01). A negative h integrates backwards in time.
///
/// Work split: rows are independent (the loss is a sum over rows), so the batch is cut into
/// chunks of `chunkRows` rows and each chunk runs ALL of its stages forward and then backward
/// while its activations are still in cache; with a budget of T threads, T workers take
/// contiguous runs of chunks, each with single-threaded GEMMs on its own workspace and its own
/// parameter-gradient buffer, summed into `store.gradients` at the end in worker order (the same
/// scheme as the convolution layers, see `ComputeBudget`; OpenBLAS must run single-threaded).
/// Workspaces only grow, so a training loop allocates nothing per iteration after the first.
public final class FixedStepIntegrator {
    public let field: VectorField
    public let method: FixedStepMethod
    public let substeps: Int
    /// Worker threads (the caller owns the cores; see `ComputeBudget`).
    public var budget: ComputeBudget
    /// Rows per chunk. 256 rows × width 256 keeps one evaluation's activations (~0.5 MB) near L2
    /// and makes the hidden GEMM a 256×256×256 block, where OpenBLAS runs near its peak.
    public var chunkRows = 256
    private var workspaces: [Workspace] = []
    private let a: [[Float]], b: [Float]

    public init(field: VectorField, method: FixedStepMethod = .midpoint, substeps: Int = 2,
                budget: ComputeBudget = .serial) throws {
        guard substeps >= 1 else {
            throw ODEError.invalidArgument("FixedStepIntegrator: substeps = \(substeps); need ≥ 1 (the reference uses 2)")
        }
        self.field = field
        self.method = method
        self.substeps = substeps
        self.budget = budget
        a = method.a
        b = method.b
    }

    // MARK: - Training

    /// The k-step loss and its gradient for `rows` starting states (rows×d) and k = targets.count
    /// target arrays (rows×d each, the states 1…k frames later):
    ///
    ///     L = (1/k)·Σ_{j=1…k} mean_{rows, d}((x_j − z_{t+j})²) / h²,  x_j = Ψ_h^j(z_t),
    ///
    /// which is the reference's one-step loss MSE(Ψ_h(z_t), z_{t+1})/h² for k = 1. ADDS ∂L/∂θ into
    /// `field.store.gradients` and, when `startGradient` is given, OVERWRITES it with ∂L/∂z_t.
    /// Returns L.
    @discardableResult
    public func lossAndGradient(starts: UnsafePointer<Float>, targets: [UnsafePointer<Float>], rows: Int,
                                frameStep h: Float, startGradient: UnsafeMutablePointer<Float>? = nil) -> Double {
        precondition(!targets.isEmpty, "lossAndGradient: give at least one target frame (k ≥ 1)")
        precondition(h != 0 && h.isFinite, "lossAndGradient: frame step h = \(h) must be finite and non-zero")
        guard rows > 0 else { return 0 }
        let d = field.dimension, k = targets.count
        let scale = 1 / (Double(k) * Double(rows) * Double(d) * Double(h) * Double(h))
        let chunks = stride(from: 0, to: rows, by: chunkRows).map { $0..<min($0 + chunkRows, rows) }
        let workers = min(budget.threads, chunks.count)
        prepare(workers: workers, frames: k)
        let store = field.store
        let params = store.parameterCount
        // Per-worker loss partials (a raw buffer: the workers' closure may not capture an inout array).
        let partialSums = UnsafeMutablePointer<Double>.allocate(capacity: workers)
        defer { partialSums.deallocate() }
        do {
            let run = { (w: Int) in
                let ws = self.workspaces[w]
                // One worker writes straight into the store's gradients; several own a buffer each.
                let grads = workers == 1 ? store.gradients : ws.gradients(params)
                if workers > 1 { grads.update(repeating: 0, count: params) }
                var sum = 0.0
                for c in splitRange(chunks.count, parts: workers, w) {
                    let r = chunks[c]
                    sum += self.chunkLossAndGradient(ws, starts: starts + r.lowerBound * d, targets: targets,
                                                     offset: r.lowerBound * d, rows: r.count, h: h,
                                                     gradientScale: Float(2 * scale), grads: grads,
                                                     startGradient: startGradient.map { $0 + r.lowerBound * d })
                }
                partialSums[w] = sum
            }
            if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: run) }
        }
        if workers > 1 {
            let g = store.gradients
            for w in 0..<workers {
                let wg = workspaces[w].gradients(params)
                for i in 0..<params { g[i] += wg[i] }
            }
        }
        return (0..<workers).reduce(0.0) { $0 + partialSums[$1] } * scale
    }

    /// Array form of `lossAndGradient` (flat rows×d arrays).
    @discardableResult
    public func lossAndGradient(starts: [Float], targets: [[Float]], frameStep h: Float) -> Double {
        let d = field.dimension
        precondition(starts.count % d == 0 && targets.allSatisfy { $0.count == starts.count },
                     "lossAndGradient: starts (\(starts.count)) and every target must hold the same whole number of \(d)-dim rows")
        return withPointers(targets) { tp in
            starts.withUnsafeBufferPointer { sp in
                lossAndGradient(starts: sp.baseAddress!, targets: tp, rows: starts.count / d, frameStep: h)
            }
        }
    }

    private func chunkLossAndGradient(_ ws: Workspace, starts: UnsafePointer<Float>, targets: [UnsafePointer<Float>],
                                      offset: Int, rows: Int, h: Float, gradientScale: Float,
                                      grads: UnsafeMutablePointer<Float>, startGradient: UnsafeMutablePointer<Float>?) -> Double {
        let d = field.dimension, n = rows * d, s = b.count, k = targets.count
        let tau = h / Float(substeps)
        let recordSize = rows * field.recordFloatsPerRow
        let x = ws.x, y = ws.y, stage = ws.stage, diff = ws.diff, scratch = ws.scratch
        x.update(from: starts, count: n)
        var e = 0
        var sse = 0.0
        // Forward: every stage evaluation recorded in slot e.
        for j in 0..<k {
            for _ in 0..<substeps {
                for i in 0..<s {
                    let input = stageInput(i, x: x, y: y, stage: stage, n: n, tau: tau)
                    field.evaluate(input, rows: rows, into: stage + i * n, record: ws.records + e * recordSize, scratch: scratch)
                    e += 1
                }
                for i in 0..<s where b[i] != 0 { Dense.addScaled(x, tau * b[i], stage + i * n, n) }
            }
            let t = targets[j] + offset, dj = diff + j * n
            for i in 0..<n { let v = x[i] - t[i]; dj[i] = v; sse += Double(v) * Double(v) }
        }
        // Backward in reverse order of the forward.
        let xbar = ws.xbar, ybar = ws.ybar, kbar = ws.kbar
        xbar.update(repeating: 0, count: n)
        for j in stride(from: k - 1, through: 0, by: -1) {
            Dense.addScaled(xbar, gradientScale, diff + j * n, n)
            for _ in 0..<substeps {
                for i in 0..<s { let ki = kbar + i * n; for m in 0..<n { ki[m] = tau * b[i] * xbar[m] } }
                for i in stride(from: s - 1, through: 0, by: -1) {
                    e -= 1
                    field.pullback(record: ws.records + e * recordSize, rows: rows, cotangent: kbar + i * n,
                                   inputGradient: ybar, parameterGradients: grads, scratch: scratch)
                    for m in 0..<n { xbar[m] += ybar[m] }
                    for (m, aim) in a[i].enumerated() where aim != 0 { Dense.addScaled(kbar + m * n, tau * aim, ybar, n) }
                }
            }
        }
        startGradient?.update(from: xbar, count: n)
        return sse
    }

    /// The input of stage i: x itself for the first stage, else y = x + τ·Σ_{j<i} a_ij·k_j.
    @inline(__always)
    private func stageInput(_ i: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>,
                            stage: UnsafeMutablePointer<Float>, n: Int, tau: Float) -> UnsafePointer<Float> {
        if a[i].allSatisfy({ $0 == 0 }) { return UnsafePointer(x) }
        y.update(from: x, count: n)
        for (j, aij) in a[i].enumerated() where aij != 0 { Dense.addScaled(y, tau * aij, stage + j * n, n) }
        return UnsafePointer(y)
    }

    // MARK: - Rollouts

    /// Integrates `rows` states (rows×d, in place) over `steps` steps of size `step` (time units;
    /// negative = backwards), without recording.
    public func integrate(_ states: UnsafeMutablePointer<Float>, rows: Int, step: Float, steps: Int) {
        guard rows > 0, steps > 0 else { return }
        let d = field.dimension
        let chunks = stride(from: 0, to: rows, by: chunkRows).map { $0..<min($0 + chunkRows, rows) }
        let workers = min(budget.threads, chunks.count)
        prepare(workers: workers, frames: 0)
        let run = { (w: Int) in
            let ws = self.workspaces[w]
            for c in splitRange(chunks.count, parts: workers, w) {
                let r = chunks[c]
                self.chunkIntegrate(ws, states + r.lowerBound * d, rows: r.count, step: step, steps: steps)
            }
        }
        if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: run) }
    }

    private func chunkIntegrate(_ ws: Workspace, _ x: UnsafeMutablePointer<Float>, rows: Int, step tau: Float, steps: Int) {
        let n = rows * field.dimension, s = b.count
        for _ in 0..<steps {
            for i in 0..<s {
                let input = stageInput(i, x: x, y: ws.y, stage: ws.stage, n: n, tau: tau)
                field.evaluate(input, rows: rows, into: ws.stage + i * n, record: nil, scratch: ws.scratch)
            }
            for i in 0..<s where b[i] != 0 { Dense.addScaled(x, tau * b[i], ws.stage + i * n, n) }
        }
    }

    /// The states at frames 0…`frames` from `start` (rows×d flat): element f is Ψ_h^f(start).
    /// Negative h rolls backwards in time. Throws if a state becomes non-finite.
    public func rollout(start: [Float], frames: Int, frameStep h: Float) throws -> [[Float]] {
        try ODEChecks.rolloutArguments(start: start, dimension: field.dimension, frames: frames, h: h)
        var x = start
        var out = [start]
        out.reserveCapacity(frames + 1)
        for f in 1...max(frames, 1) where frames > 0 {
            x.withUnsafeMutableBufferPointer { integrate($0.baseAddress!, rows: start.count / field.dimension, step: h / Float(substeps), steps: substeps) }
            try ODEChecks.finite(x, frameTime: Double(f) * Double(h.sign == .minus ? -1 : 1))
            out.append(x)
        }
        return out
    }

    /// The states at the given frame times (fractions allowed, negative = before the start), each
    /// reached by integrating from the previous requested time with steps of at most h/substeps,
    /// the last one shortened to land exactly on the time (so no interpolation error is added).
    public func states(from start: [Float], atFrameTimes times: [Double], frameStep h: Float) throws -> [[Float]] {
        try ODEChecks.rolloutArguments(start: start, dimension: field.dimension, frames: 0, h: h)
        let rows = start.count / field.dimension
        var x = start, t = 0.0
        var out: [[Float]] = []
        for target in times {
            guard target.isFinite else { throw ODEError.invalidArgument("states(atFrameTimes:): frame time \(target) is not finite") }
            let span = target - t
            if span != 0 {
                // Steps of at most h/substeps (the 1e-9 keeps an exact multiple from gaining a step to rounding).
                let n = Swift.max(1, Int((abs(span) * Double(substeps) - 1e-9).rounded(.up)))
                let step = Float(span * Double(h) / Double(n))
                x.withUnsafeMutableBufferPointer { integrate($0.baseAddress!, rows: rows, step: step, steps: n) }
                try ODEChecks.finite(x, frameTime: target)
                t = target
            }
            out.append(x)
        }
        return out
    }

    // MARK: - Workspaces

    private func prepare(workers: Int, frames: Int) {
        while workspaces.count < workers { workspaces.append(Workspace()) }
        let rows = chunkRows, d = field.dimension, s = b.count
        let evaluations = frames * substeps * s
        for w in 0..<workers {
            workspaces[w].reserve(rowsD: rows * d, stages: s, frames: frames,
                                  records: evaluations * rows * field.recordFloatsPerRow,
                                  scratch: rows * field.scratchFloatsPerRow)
        }
    }

    /// One worker's grow-only buffers.
    private final class Workspace {
        private(set) var x = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var y = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var xbar = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var ybar = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var stage = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var kbar = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var diff = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var records = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private(set) var scratch = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private var grads = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private var caps = [Int](repeating: 1, count: 10)

        deinit { for p in [x, y, xbar, ybar, stage, kbar, diff, records, scratch, grads] { p.deallocate() } }

        private func grow(_ p: inout UnsafeMutablePointer<Float>, _ slot: Int, _ count: Int) {
            guard count > caps[slot] else { return }
            p.deallocate()
            p = .allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            caps[slot] = count
        }

        func reserve(rowsD n: Int, stages s: Int, frames: Int, records r: Int, scratch sc: Int) {
            grow(&x, 0, n); grow(&y, 1, n); grow(&xbar, 2, n); grow(&ybar, 3, n)
            grow(&stage, 4, s * n); grow(&kbar, 5, s * n); grow(&diff, 6, max(frames, 1) * n)
            grow(&records, 7, r); grow(&scratch, 8, sc)
        }

        func gradients(_ count: Int) -> UnsafeMutablePointer<Float> { grow(&grads, 9, count); return grads }
    }
}

/// Argument and finiteness checks shared by the rollout paths.
enum ODEChecks {
    static func rolloutArguments(start: [Float], dimension d: Int, frames: Int, h: Float) throws {
        guard !start.isEmpty, start.count % d == 0 else {
            throw ODEError.invalidArgument("rollout: start has \(start.count) values, not a positive whole number of \(d)-dim rows")
        }
        guard frames >= 0 else { throw ODEError.invalidArgument("rollout: frames = \(frames) must be ≥ 0") }
        guard h.isFinite, h != 0 else {
            throw ODEError.invalidArgument("rollout: frame step h = \(h) must be finite and non-zero (negative rolls backwards)")
        }
    }

    static func finite(_ x: [Float], frameTime: Double) throws {
        for v in x where !v.isFinite { throw ODEError.nonFinite(frameTime: frameTime) }
    }
}

/// Calls `body` with base pointers of several arrays (kept alive for the call).
func withPointers<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    func go(_ i: Int, _ acc: [UnsafePointer<Float>]) -> R {
        if i == arrays.count { return body(acc) }
        return arrays[i].withUnsafeBufferPointer { go(i + 1, acc + [$0.baseAddress!]) }
    }
    return go(0, [])
}
