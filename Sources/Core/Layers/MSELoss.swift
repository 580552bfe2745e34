/// weight · mean((pred − target)²) over all elements, and its gradient with respect to `pred`
/// (the gradient with respect to `target` is its negation). Sums run in Double.
public func mseLoss(_ pred: Tensor, _ target: Tensor, weight: Float = 1) -> (value: Float, gradient: Tensor) {
    precondition(pred.shape == target.shape, "mseLoss: pred \(pred.shape) vs target \(target.shape)")
    precondition(pred.count > 0, "mseLoss: empty tensors")
    let n = pred.count
    let grad = Tensor(uninitialized: pred.shape)
    let p = pred.data, t = target.data, g = grad.data
    let scale = 2 * weight / Float(n)     // d/dp of w·Σ(p−t)²/n
    var s0 = 0.0, s1 = 0.0
    var i = 0
    while i + 2 <= n {
        let d0 = p[i] - t[i], d1 = p[i + 1] - t[i + 1]
        g[i] = scale * d0; g[i + 1] = scale * d1
        s0 += Double(d0) * Double(d0); s1 += Double(d1) * Double(d1)
        i += 2
    }
    if i < n { let d = p[i] - t[i]; g[i] = scale * d; s0 += Double(d) * Double(d) }
    return (Float(Double(weight) * (s0 + s1) / Double(n)), grad)
}

/// The deterministic mode's `mseLoss` (docs/distributed.md §Deterministic): the mean runs over the
/// GLOBAL batch (this replica's N samples × `group.replicas`, every replica holding as many), each
/// sample's squared error is summed on its own and the samples' sums are added exactly over
/// replicas (`exactSampleSums`). So the value and every sample's gradient are the same bits however
/// the global batch is split over ranks. Collective: every replica calls it in the same order.
public func mseLoss(_ pred: Tensor, _ target: Tensor, weight: Float = 1, exactOver group: ReplicaGroup) -> (value: Float, gradient: Tensor) {
    precondition(pred.shape == target.shape, "mseLoss: pred \(pred.shape) vs target \(target.shape)")
    precondition(pred.count > 0 && pred.shape[0] > 0, "mseLoss: empty tensors")
    let samples = pred.shape[0], perSample = pred.count / samples
    let globalCount = pred.count * group.replicas
    let grad = Tensor(uninitialized: pred.shape)
    let scale = 2 * weight / Float(globalCount)
    var sums = [Double](repeating: 0, count: samples)
    for i in 0..<samples {
        let p = pred.data + i * perSample, t = target.data + i * perSample, g = grad.data + i * perSample
        var s = 0.0
        for k in 0..<perSample {
            let d = p[k] - t[k]
            g[k] = scale * d
            s += Double(d) * Double(d)
        }
        sums[i] = s
    }
    let total = exactSampleSums(sums, sums: 1, samples: samples, group: group)[0]
    return (Float(Double(weight) * total / Double(globalCount)), grad)
}
