/// weight · mean((pred − target)²) over all elements, and its gradient with respect to `pred`
/// (the gradient with respect to `target` is its negation). Sums run in Double.
public func mseLoss(_ pred: Tensor, _ target: Tensor, weight: Float = 1) -> (value: Float, gradient: Tensor) {
    fatalError("mseLoss: not implemented yet")
}
