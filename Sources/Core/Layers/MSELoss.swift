/// weight · mean((pred − target)²) over all elements, and its gradient with respect to `pred`
/// (the gradient with respect to `target` is its negation). Sums run in Double, per sample, and the
/// samples' sums are added in sample order: the same bits at any `threads`.
public func mseLoss(_ pred: Tensor, _ target: Tensor, weight: Float = 1, threads: Int = 1) -> (value: Float, gradient: Tensor) {
    precondition(pred.shape == target.shape, "mseLoss: pred \(pred.shape) vs target \(target.shape)")
    precondition(pred.count > 0, "mseLoss: empty tensors")
    let n = pred.count
    let grad = Tensor(uninitialized: pred.shape)
    let sums = squaredErrors(pred, target, scale: 2 * weight / Float(n), into: grad, threads: threads)   // d/dp of w·Σ(p−t)²/n
    return (Float(Double(weight) * sums.reduce(0, +) / Double(n)), grad)
}

/// The deterministic mode's `mseLoss` (docs/distributed.md §Deterministic): the mean runs over the
/// GLOBAL batch (this replica's N samples × `group.replicas`, every replica holding as many), each
/// sample's squared error is summed on its own and the samples' sums are added exactly over
/// replicas (`exactSampleSums`). So the value and every sample's gradient are the same bits however
/// the global batch is split over ranks. Collective: every replica calls it in the same order.
public func mseLoss(_ pred: Tensor, _ target: Tensor, weight: Float = 1, exactOver group: ReplicaGroup,
                    threads: Int = 1) -> (value: Float, gradient: Tensor) {
    precondition(pred.shape == target.shape, "mseLoss: pred \(pred.shape) vs target \(target.shape)")
    precondition(pred.count > 0 && pred.shape[0] > 0, "mseLoss: empty tensors")
    let globalCount = pred.count * group.replicas
    let grad = Tensor(uninitialized: pred.shape)
    let sums = squaredErrors(pred, target, scale: 2 * weight / Float(globalCount), into: grad, threads: threads)
    let total = exactSampleSums(sums, sums: 1, samples: sums.count, group: group)[0]
    return (Float(Double(weight) * total / Double(globalCount)), grad)
}

/// Writes grad = scale·(pred − target) and returns each sample's Σ(pred − target)² (four interleaved
/// Double partial sums, added at the end). Samples are spread over `threads`; each sample's sum is
/// made by one thread in one order, so nothing depends on the thread count.
private func squaredErrors(_ pred: Tensor, _ target: Tensor, scale: Float, into grad: Tensor, threads: Int) -> [Double] {
    let samples = pred.shape.first ?? 1, perSample = pred.count / samples
    var sums = [Double](repeating: 0, count: samples)
    sums.withUnsafeMutableBufferPointer { out in
        // Parts of at least ~64k elements: below that a section costs more than it saves.
        parallelRanges(samples, threads: threads, minimum: Swift.max(1, (1 << 16) / Swift.max(1, perSample))) { range in
            for i in range {
                let p = pred.data + i * perSample, t = target.data + i * perSample, g = grad.data + i * perSample
                var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                var k = 0
                while k + 4 <= perSample {
                    let d0 = p[k] - t[k], d1 = p[k + 1] - t[k + 1], d2 = p[k + 2] - t[k + 2], d3 = p[k + 3] - t[k + 3]
                    g[k] = scale * d0; g[k + 1] = scale * d1; g[k + 2] = scale * d2; g[k + 3] = scale * d3
                    s0 += Double(d0) * Double(d0); s1 += Double(d1) * Double(d1)
                    s2 += Double(d2) * Double(d2); s3 += Double(d3) * Double(d3)
                    k += 4
                }
                while k < perSample { let d = p[k] - t[k]; g[k] = scale * d; s0 += Double(d) * Double(d); k += 1 }
                out[i] = (s0 + s1) + (s2 + s3)
            }
        }
    }
    return sums
}
