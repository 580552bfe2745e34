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
