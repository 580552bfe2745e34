/// Pointwise activations. Each backward needs only the forward's output.
public enum Activation: String, Sendable, CaseIterable {
    case relu, sigmoid, tanh

    public func forward(_ x: Tensor) -> Tensor {
        fatalError("Activation.forward: not implemented yet")
    }

    /// dx from dy and the forward output y.
    public func backward(_ dy: Tensor, output y: Tensor) -> Tensor {
        fatalError("Activation.backward: not implemented yet")
    }
}
