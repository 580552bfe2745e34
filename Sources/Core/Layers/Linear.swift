/// Fully connected layer y = x·Wᵀ + b with PyTorch's layout: weight [out, in], bias [out].
public final class Linear {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Param
    public let bias: Param?
    public unowned let store: ParameterStore

    /// Default initialisation is PyTorch's: weight and bias U(±1/√in).
    public init(store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = store.addParameter("\(name).weight", shape: [outFeatures, inFeatures],
                                    initializer: weightInit ?? .uniform(bound: bound))
        self.bias = bias ? store.addParameter("\(name).bias", shape: [outFeatures],
                                              initializer: biasInit ?? .uniform(bound: bound)) : nil
    }

    /// x: N×in (or N×… with in trailing elements per sample) → N×out.
    public func forward(_ x: Tensor) -> Tensor {
        fatalError("Linear.forward: not implemented yet")
    }

    /// Accumulates dW, db; returns dx shaped like x.
    public func backward(_ dy: Tensor, input x: Tensor) -> Tensor {
        fatalError("Linear.backward: not implemented yet")
    }
}
