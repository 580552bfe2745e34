/// What BatchNorm's backward needs from its forward.
public struct BatchNormCache {
    public let normalized: Tensor      // x̂ = (x − mean)·invStd
    public let invStd: [Float]         // per channel
    public let mode: Mode
    /// Elements per channel the statistics were taken over, summed over all replicas (train mode);
    /// backward divides the reduced Σdy and Σdy·x̂ by it.
    public let globalCount: Int
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

    /// x: N×C×H×W (or N×C) → same shape.
    public func forward(_ x: Tensor, mode: Mode) -> (Tensor, BatchNormCache) {
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

        // y = γ·x̂ + β, one contiguous plane at a time.
        let y = Tensor(uninitialized: x.shape)
        let xhat = Tensor(uninitialized: x.shape)
        let gamma = store.value(weight), beta = store.value(bias)
        forEachChannel { ch in
            for i in 0..<n {
                let off = (i * c + ch) * plane
                let src = x.data + off, h = xhat.data + off, dst = y.data + off
                let mu = Float(mean[ch]), s = invStd[ch], g = gamma[ch], b = beta[ch]
                for k in 0..<plane {
                    let v = (src[k] - mu) * s
                    h[k] = v
                    dst[k] = v * g + b
                }
            }
        }
        return (y, BatchNormCache(normalized: xhat, invStd: invStd, mode: mode, globalCount: globalCount))
    }

    /// Accumulates dγ, dβ; returns dx.
    public func backward(_ dy: Tensor, cache: BatchNormCache) -> Tensor {
        let xhat = cache.normalized
        precondition(dy.shape == xhat.shape, "BatchNorm2d.backward: dy \(dy.shape) vs forward \(xhat.shape)")
        let (n, plane) = layout(dy)
        let c = channels

        // Per sample: [Σdy per channel…, Σdy·x̂ per channel…]
        var perSample = [Double](repeating: 0, count: 2 * c * n)
        perSample.withUnsafeMutableBufferPointer { out in
            forEachChannel { ch in
                for i in 0..<n {
                    let off = (i * c + ch) * plane
                    let (s, sx) = planeSumAndDot(dy.data + off, xhat.data + off, plane)
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

        let gamma = store.value(weight)
        let dx = Tensor(uninitialized: dy.shape)
        switch cache.mode {
        case .eval:
            // Statistics are constants: dx = γ·invStd·dy.
            forEachChannel { ch in
                for i in 0..<n {
                    let off = (i * c + ch) * plane
                    let src = dy.data + off, dst = dx.data + off
                    let k0 = gamma[ch] * cache.invStd[ch]
                    for k in 0..<plane { dst[k] = k0 * src[k] }
                }
            }
        case .train:
            let sums = reduceOverSamples(perSample, sums: 2 * c, samples: n)
            let m = Double(cache.globalCount)
            // dx = γ·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)), means over the global batch.
            let reduced = sums
            forEachChannel { ch in
                for i in 0..<n {
                    let off = (i * c + ch) * plane
                    let src = dy.data + off, h = xhat.data + off, dst = dx.data + off
                    let k0 = gamma[ch] * cache.invStd[ch]
                    let meanDy = Float(reduced[ch] / m), meanDyX = Float(reduced[c + ch] / m)
                    for k in 0..<plane { dst[k] = k0 * (src[k] - meanDy - h[k] * meanDyX) }
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

/// (Σa, Σa·b).
@inline(__always)
func planeSumAndDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> (Double, Double) {
    var s0 = 0.0, s1 = 0.0, d0 = 0.0, d1 = 0.0
    var i = 0
    while i + 2 <= count {
        let a0 = Double(a[i]), a1 = Double(a[i + 1])
        s0 += a0; s1 += a1
        d0 += a0 * Double(b[i]); d1 += a1 * Double(b[i + 1])
        i += 2
    }
    if i < count { let a0 = Double(a[i]); s0 += a0; d0 += a0 * Double(b[i]) }
    return (s0 + s1, d0 + d1)
}
