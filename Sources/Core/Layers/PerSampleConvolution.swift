import Dispatch

/// How a convolution layer runs in the deterministic mode (docs/distributed.md §Deterministic): one
/// sample per engine call, so every sample is computed by GEMMs of the same shapes (which round the
/// same) whatever batch, rank count or thread count it comes with, and each sample's weight gradient
/// is folded into the exact sums on its own. The layer's threads take whole samples, each worker on
/// a scratch of its own running single-threaded, so the result does not depend on how many there are.
extension ConvScratch {
    /// Runs `body(sample, scratch, worker)` for every sample, spread over up to `budget.threads`
    /// workers. After a worker's first sample its scratch keeps the prepared weight
    /// (`weightPrepared`): the weight does not change within a layer call.
    func forEachSample(_ batch: Int, _ body: (_ sample: Int, _ scratch: ConvScratch, _ worker: Int) -> Void) {
        let workers = Swift.max(1, Swift.min(budget.threads, batch))
        let saved = budget
        let scratches = workerScratches(workers)
        for s in scratches { s.budget = .serial; s.weightPrepared = false }
        defer {
            for s in scratches { s.weightPrepared = false }
            budget = saved
        }
        func run(_ w: Int) {
            for sample in splitRange(batch, parts: workers, w) {
                body(sample, scratches[w], w)
                scratches[w].weightPrepared = true
            }
        }
        if workers == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: workers) { run($0) } }
    }

    /// `forEachSample` for a backward pass: `body` ADDS one sample's weight (and bias) gradient into
    /// the zeroed buffers it is given (one pair per sample); then every sample's are folded into
    /// `exact` together, block by block (`ExactGradients.fold(samples:…)`: the limbs are read and
    /// written once per layer call, not once per sample — measured: the fold was then a third of the
    /// mode's extra time, memory-bound).
    func foldEachSample(_ batch: Int, into exact: ExactGradients, weight: Param, bias: Param?,
                        _ body: (_ sample: Int, _ scratch: ConvScratch, _ weightGradient: UnsafeMutablePointer<Float>,
                                 _ biasGradient: UnsafeMutablePointer<Float>?) -> Void) {
        let threads = budget.threads
        let size = weight.count + (bias?.count ?? 0)
        let buffers = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, batch * size))
        defer { buffers.deallocate() }
        forEachSample(batch) { sample, scratch, _ in
            let gw = buffers + sample * size
            gw.initialize(repeating: 0, count: size)   // here, so the engine finds it in cache
            body(sample, scratch, gw, bias == nil ? nil : gw + weight.count)
        }
        exact.fold(samples: buffers, count: batch, stride: size, at: weight.offset, length: weight.count, threads: threads)
        if let bias {
            exact.fold(samples: buffers + weight.count, count: batch, stride: size, at: bias.offset, length: bias.count, threads: threads)
        }
    }
}
