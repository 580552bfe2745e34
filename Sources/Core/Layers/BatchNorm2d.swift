/// What BatchNorm's backward needs from its forward. The forward's input, not x̂: backward
/// recomputes x̂ = (x − mean)·invStd with the forward's own arithmetic (`BatchNormPoint`, the same
/// bits), so the forward writes one tensor (y), not two — the pass is memory-bound.
public struct BatchNormCache {
    public let input: Tensor
    public let mean: [Float]           // per channel, as the forward subtracted it
    public let invStd: [Float]         // per channel
    public let mode: Mode
    /// Elements per channel the statistics were taken over, summed over all replicas (train mode);
    /// backward divides the reduced Σdy and Σdy·x̂ by it.
    public let globalCount: Int
    /// The forward applied a ReLU in the same pass (`forward(_:mode:relu:)`): backward masks dy
    /// with it first.
    public let relu: Bool
}

/// One channel's normalisation, written once for the forward and the backward's recomputation, so
/// both form x̂ and γ·x̂ + β with the same operations in the same order (Swift does not contract a
/// multiply and an add into an FMA, so the same expression gives the same bits in both loops, and
/// the eight-lane forms give each lane the scalar form's bits).
struct BatchNormPoint {
    typealias F8 = SIMD8<Float>
    let mean: Float, invStd: Float, gamma: Float, beta: Float
    let means: F8, invStds: F8, gammas: F8, betas: F8

    init(mean: Float, invStd: Float, gamma: Float, beta: Float) {
        self.mean = mean; self.invStd = invStd; self.gamma = gamma; self.beta = beta
        means = F8(repeating: mean); invStds = F8(repeating: invStd); gammas = F8(repeating: gamma); betas = F8(repeating: beta)
    }

    /// x̂ = (x − mean)·invStd.
    @inline(__always) func normalized(_ x: Float) -> Float { (x - mean) * invStd }
    @inline(__always) func normalized(_ x: F8) -> F8 { (x - means) * invStds }
    /// γ·x̂ + β.
    @inline(__always) func affine(_ h: Float) -> Float { h * gamma + beta }
    @inline(__always) func affine(_ h: F8) -> F8 { h * gammas + betas }
    /// ReLU's derivative at γ·x̂ + β as a 0/1 factor (0 at 0 and for NaN, as `Activation.relu`:
    /// its output is > 0 exactly where its input is).
    @inline(__always) func reluMask(_ h: Float) -> Float { affine(h) > 0 ? 1 : 0 }
    @inline(__always) func reluMask(_ h: F8) -> F8 { F8(repeating: 0).replacing(with: 1, where: affine(h) .> 0) }
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// BatchNorm2d over (N, H, W) per channel, PyTorch semantics: in training, batch statistics with the
/// biased variance normalise and the unbiased one updates the running variance (momentum 0.1,
/// eps 1e-5); in eval, the running statistics. Registers `name.weight`/`name.bias` (γ = 1, β = 0)
/// and buffers `name.running_mean`, `name.running_var`, `name.num_batches_tracked`.
///
/// The per-channel sums go through `reducer` before normalising (forward) and before forming dx
/// (backward), so with a cross-rank reducer this is synchronized BatchNorm over the global batch.
///
/// Reducer traffic per training step: forward makes two calls — [Σx…, count] (C+1 doubles), then
/// the centred Σ(x − mean)² (C doubles); backward makes one call, [Σdy…, Σdy·x̂…] (2C doubles).
/// The forward uses two calls rather than one packed [Σx, Σx²] on purpose: var = E[x²] − E[x]²
/// cancels catastrophically when |mean| ≫ std (a channel of post-ReLU activations with a large
/// offset, a conv bias that BN is about to remove), whereas the centred second pass has no
/// cancellation at all. The extra collective is C doubles — latency only, next to a convolution.
///
/// γ/β gradients accumulate the LOCAL sums: the trainer's gradient allreduce combines them across
/// replicas like every other parameter gradient. dx uses the GLOBAL sums (as torch SyncBatchNorm).
public final class BatchNorm2d {
    public let channels: Int
    /// Weight of the current batch in the running statistics (0.1, PyTorch's default);
    /// `Autoencoder.recalibrateBatchNorm` sets 1/(i+1) on batch i to average batches equally.
    public var momentum: Float
    public let eps: Float
    public let weight: Param
    public let bias: Param
    public let runningMean: Param
    public let runningVar: Param
    public let batchesTracked: Param
    public unowned let store: ParameterStore
    public var reducer: ReplicaGroup = SingleProcess()
    /// Threads the per-channel passes may use (the model hands out its budget). Each channel is
    /// summed by one thread in the same order whatever the count, so results do not depend on it.
    public var budget = ComputeBudget.serial

    public init(store: ParameterStore, name: String, channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.store = store
        self.channels = channels
        self.momentum = momentum
        self.eps = eps
        weight = store.addParameter("\(name).weight", shape: [channels], initializer: .constant(1))
        bias = store.addParameter("\(name).bias", shape: [channels], initializer: .constant(0))
        runningMean = store.addBuffer("\(name).running_mean", shape: [channels], value: 0)
        runningVar = store.addBuffer("\(name).running_var", shape: [channels], value: 1)
        batchesTracked = store.addBuffer("\(name).num_batches_tracked", shape: [], value: 0, stored: .i64)
    }

    /// (samples N, elements per channel plane) for an N×C×H×W or N×C tensor.
    private func layout(_ t: Tensor) -> (n: Int, plane: Int) {
        precondition((t.rank == 4 || t.rank == 2) && t.shape[1] == channels,
                     "BatchNorm2d(\(channels)): expected N×\(channels)×H×W or N×\(channels), got \(t.shape)")
        return (t.shape[0], t.rank == 4 ? t.shape[2] * t.shape[3] : 1)
    }

    /// x: N×C×H×W (or N×C) → same shape. `relu`: y = max(γ·x̂ + β, 0) in the same pass, the same
    /// bits as this then `Activation.relu` (one read and one write of the tensor fewer).
    public func forward(_ x: Tensor, mode: Mode, relu: Bool = false) -> (Tensor, BatchNormCache) {
        let (n, plane) = layout(x)
        let c = channels
        var mean = [Double](repeating: 0, count: c)
        var invStd = [Float](repeating: 0, count: c)
        var globalCount = n * plane

        switch mode {
        case .train:
            // Phase 1: Σx per channel plus the element count (ranks may hold uneven batches).
            var perSample = [Double](repeating: 0, count: (c + 1) * n)
            perSample.withUnsafeMutableBufferPointer { out in
                forEachChannel { ch in
                    for i in 0..<n { out[ch * n + i] = planeSum(x.data + (i * c + ch) * plane, plane) }
                }
            }
            for i in 0..<n { perSample[c * n + i] = Double(plane) }
            let sums = reduceOverSamples(perSample, sums: c + 1, samples: n)
            let m = sums[c]
            precondition(m > 1, "BatchNorm2d: training needs more than one value per channel (got \(Int(m)))")
            globalCount = Int(m)
            for ch in 0..<c { mean[ch] = sums[ch] / m }

            // Phase 2: centred sum of squares around the global mean.
            var perSampleSquares = [Double](repeating: 0, count: c * n)
            perSampleSquares.withUnsafeMutableBufferPointer { out in
                forEachChannel { ch in
                    for i in 0..<n { out[ch * n + i] = planeCentredSquares(x.data + (i * c + ch) * plane, plane, mean: mean[ch]) }
                }
            }
            let squares = reduceOverSamples(perSampleSquares, sums: c, samples: n)

            let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
            let mom = Double(momentum)
            for ch in 0..<c {
                let biased = squares[ch] / m
                invStd[ch] = Float(1 / (biased + Double(eps)).squareRoot())
                rm[ch] = Float((1 - mom) * Double(rm[ch]) + mom * mean[ch])
                rv[ch] = Float((1 - mom) * Double(rv[ch]) + mom * squares[ch] / (m - 1))
            }
            store.buffer(batchesTracked)[0] += 1

        case .eval:
            let rm = store.buffer(runningMean), rv = store.buffer(runningVar)
            for ch in 0..<c {
                mean[ch] = Double(rm[ch])
                invStd[ch] = Float(1 / (Double(rv[ch]) + Double(eps)).squareRoot())
            }
        }

        // y = γ·x̂ + β (then the ReLU), one contiguous plane at a time.
        let y = Tensor(uninitialized: x.shape)
        let gamma = store.value(weight), beta = store.value(bias)
        let means = mean.map { Float($0) }
        forEachChannel { ch in
            let point = BatchNormPoint(mean: means[ch], invStd: invStd[ch], gamma: gamma[ch], beta: beta[ch])
            for i in 0..<n {
                let off = (i * c + ch) * plane
                let src = x.data + off, dst = y.data + off
                if relu {
                    for k in 0..<plane { dst[k] = Swift.max(point.affine(point.normalized(src[k])), 0) }
                } else {
                    for k in 0..<plane { dst[k] = point.affine(point.normalized(src[k])) }
                }
            }
        }
        return (y, BatchNormCache(input: x, mean: means, invStd: invStd, mode: mode, globalCount: globalCount, relu: relu))
    }

    /// Accumulates dγ, dβ; returns dx. With the forward's `relu`, `dy` is the ReLU's output
    /// gradient and the mask is applied here. `overwriting`: dx is written over dy (which the
    /// caller no longer needs) instead of into a new tensor.
    public func backward(_ dy: Tensor, cache: BatchNormCache, overwriting: Bool = false) -> Tensor {
        let x = cache.input
        precondition(dy.shape == x.shape, "BatchNorm2d.backward: dy \(dy.shape) vs forward \(x.shape)")
        let (n, plane) = layout(dy)
        let c = channels
        let gamma = store.value(weight), beta = store.value(bias), relu = cache.relu
        func point(_ ch: Int) -> BatchNormPoint {
            BatchNormPoint(mean: cache.mean[ch], invStd: cache.invStd[ch], gamma: gamma[ch], beta: beta[ch])
        }

        // Per sample: [Σdy per channel…, Σdy·x̂ per channel…]
        var perSample = [Double](repeating: 0, count: 2 * c * n)
        perSample.withUnsafeMutableBufferPointer { out in
            forEachChannel { ch in
                let p = point(ch)
                for i in 0..<n {
                    let off = (i * c + ch) * plane
                    let (s, sx) = planeSumAndDot(dy.data + off, x.data + off, plane, point: p, relu: relu)
                    out[ch * n + i] = s
                    out[(c + ch) * n + i] = sx
                }
            }
        }
        // Local sums into the parameter gradients (the trainer's allreduce combines replicas); in
        // the deterministic mode each sample's share goes into the exact sums instead.
        if let exact = store.exact {
            for ch in 0..<c {
                for i in 0..<n {
                    exact.add(perSample[ch * n + i], at: bias.offset + ch)
                    exact.add(perSample[(c + ch) * n + i], at: weight.offset + ch)
                }
            }
        } else {
            let gGamma = store.gradient(weight), gBeta = store.gradient(bias)
            for ch in 0..<c {
                var s = 0.0, sx = 0.0
                for i in 0..<n { s += perSample[ch * n + i]; sx += perSample[(c + ch) * n + i] }
                gBeta[ch] += Float(s)
                gGamma[ch] += Float(sx)
            }
        }

        let dx = overwriting ? dy : Tensor(uninitialized: dy.shape)
        // Each element is read before its own dx is written, so dx may be dy itself.
        switch cache.mode {
        case .eval:
            // Statistics are constants: dx = γ·invStd·dy.
            forEachChannel { ch in
                let p = point(ch), k0 = gamma[ch] * cache.invStd[ch], k0s = SIMD8<Float>(repeating: k0)
                for i in 0..<n {
                    let off = (i * c + ch) * plane
                    let src = UnsafePointer(dy.data + off), input = UnsafePointer(x.data + off), dst = dx.data + off
                    var k = 0
                    while k + 8 <= plane {
                        var g = load8(src + k)
                        if relu { g = g * p.reluMask(p.normalized(load8(input + k))) }
                        UnsafeMutableRawPointer(dst + k).storeBytes(of: k0s * g, as: SIMD8<Float>.self)
                        k += 8
                    }
                    while k < plane {
                        dst[k] = k0 * (relu ? src[k] * p.reluMask(p.normalized(input[k])) : src[k])
                        k += 1
                    }
                }
            }
        case .train:
            let reduced = reduceOverSamples(perSample, sums: 2 * c, samples: n)
            let m = Double(cache.globalCount)
            // dx = γ·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)), means over the global batch.
            forEachChannel { ch in
                let p = point(ch), k0 = gamma[ch] * cache.invStd[ch]
                let meanDy = Float(reduced[ch] / m), meanDyX = Float(reduced[c + ch] / m)
                let k0s = SIMD8<Float>(repeating: k0), meanDys = SIMD8<Float>(repeating: meanDy)
                let meanDyXs = SIMD8<Float>(repeating: meanDyX)
                for i in 0..<n {
                    let off = (i * c + ch) * plane
                    let src = UnsafePointer(dy.data + off), input = UnsafePointer(x.data + off), dst = dx.data + off
                    // Eight lanes written out: when dx is dy, the compiler's overlap check would send
                    // its own vectorised loop down the scalar path.
                    var k = 0
                    while k + 8 <= plane {
                        let h = p.normalized(load8(input + k))
                        var g = load8(src + k)
                        if relu { g = g * p.reluMask(h) }
                        UnsafeMutableRawPointer(dst + k).storeBytes(of: k0s * (g - meanDys - h * meanDyXs), as: SIMD8<Float>.self)
                        k += 8
                    }
                    while k < plane {
                        let h = p.normalized(input[k])
                        let g = relu ? src[k] * p.reluMask(h) : src[k]
                        dst[k] = k0 * (g - meanDy - h * meanDyX)
                        k += 1
                    }
                }
            }
        }
        return dx
    }
}

extension BatchNorm2d {
    /// Σ over this replica's samples, then over the replicas, of `values[k·samples + i]` (sample i's
    /// share of sum k), for k in 0..<sums: in sample order in Double, or in the deterministic mode
    /// (`ParameterStore.exact`) exactly, so the global batch gives the same sums however it is split.
    fileprivate func reduceOverSamples(_ values: [Double], sums: Int, samples n: Int) -> [Double] {
        if store.exact != nil { return exactSampleSums(values, sums: sums, samples: n, group: reducer) }
        var out = [Double](repeating: 0, count: sums)
        for k in 0..<sums {
            var s = 0.0
            for i in 0..<n { s += values[k * n + i] }
            out[k] = s
        }
        out.withUnsafeMutableBufferPointer { reducer.sum($0.baseAddress!, count: sums) }
        return out
    }

    /// Runs `body(channel)` for every channel over the budget's threads, each channel claimed by
    /// whichever thread is free (a channel is a whole plane per sample: big enough to claim alone).
    fileprivate func forEachChannel(_ body: (Int) -> Void) {
        parallelFor(channels, threads: budget.threads, body)
    }
}

// Double-accumulated plane reductions. Four independent accumulators keep the FP adds pipelined
// (the compiler may not reassociate them itself) while staying in Double.

@inline(__always)
func planeSum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= count {
        s0 += Double(p[i]); s1 += Double(p[i + 1]); s2 += Double(p[i + 2]); s3 += Double(p[i + 3])
        i += 4
    }
    while i < count { s0 += Double(p[i]); i += 1 }
    return (s0 + s1) + (s2 + s3)
}

@inline(__always)
func planeCentredSquares(_ p: UnsafePointer<Float>, _ count: Int, mean: Double) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= count {
        let a = Double(p[i]) - mean, b = Double(p[i + 1]) - mean
        let c = Double(p[i + 2]) - mean, d = Double(p[i + 3]) - mean
        s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d
        i += 4
    }
    while i < count { let a = Double(p[i]) - mean; s0 += a * a; i += 1 }
    return (s0 + s1) + (s2 + s3)
}

/// (Σg, Σg·x̂) for the output gradient g of one plane, x̂ recomputed from the input x; with `relu`,
/// g is first masked by the ReLU's derivative. Two Double accumulators per sum, one for the even
/// and one for the odd elements, each taking its elements in order (two chains keep the adds
/// pipelined); the Float work runs eight lanes at a time.
@inline(__always)
func planeSumAndDot(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int,
                    point p: BatchNormPoint, relu: Bool) -> (Double, Double) {
    typealias D2 = SIMD2<Double>
    var s = D2(), d = D2()
    var i = 0
    while i + 8 <= count {
        let h = p.normalized(load8(x + i))
        var g = load8(dy + i)
        if relu { g = g * p.reluMask(h) }
        let g0 = D2(g.lowHalf.lowHalf), g1 = D2(g.lowHalf.highHalf), g2 = D2(g.highHalf.lowHalf), g3 = D2(g.highHalf.highHalf)
        let h0 = D2(h.lowHalf.lowHalf), h1 = D2(h.lowHalf.highHalf), h2 = D2(h.highHalf.lowHalf), h3 = D2(h.highHalf.highHalf)
        s += g0; d += g0 * h0
        s += g1; d += g1 * h1
        s += g2; d += g2 * h2
        s += g3; d += g3 * h3
        i += 8
    }
    while i < count {
        let h = p.normalized(x[i]), g = relu ? dy[i] * p.reluMask(h) : dy[i]
        s[i & 1] += Double(g); d[i & 1] += Double(g) * Double(h)
        i += 1
    }
    return (s[0] + s[1], d[0] + d[1])
}
