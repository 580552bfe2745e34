/// 2-D transposed convolution, PyTorch semantics: weight Cin×Cout×kh×kw, output size
/// (n−1)·s − 2p + k (no output padding). Input position (i, j) scatters x[ci,i,j]·w[ci,co,u,v]
/// into output (i·s − p + u, j·s − p + v). Lowered to GEMM (Wᵀ·x) + col2im.
public final class ConvTranspose2d {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let padding: (h: Int, w: Int)
    public let weight: Param
    public let bias: Param?
    public unowned let store: ParameterStore

    /// Registers `name.weight` [Cin, Cout, kh, kw] and `name.bias` [Cout], both U(±1/√(Cout·kh·kw))
    /// (PyTorch takes the fan-in from dimension 1 of this weight).
    public init(store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                bias: Bool = true) {
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel.0, kernel.1)
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
        let bound = 1 / Float(outChannels * kernel.0 * kernel.1).squareRoot()
        weight = store.addParameter("\(name).weight", shape: [inChannels, outChannels, kernel.0, kernel.1],
                                    initializer: .uniform(bound: bound))
        self.bias = bias ? store.addParameter("\(name).bias", shape: [outChannels], initializer: .uniform(bound: bound)) : nil
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height - 1) * stride.h - 2 * padding.h + kernel.h, (width - 1) * stride.w - 2 * padding.w + kernel.w)
    }

    /// Multiply-adds of one sample's forward pass at this input size.
    public func multiplyAdds(height: Int, width: Int) -> Int {
        inChannels * height * width * outChannels * kernel.h * kernel.w
    }

    /// x: N×Cin×H×W → N×Cout×H'×W'.
    public func forward(_ x: Tensor) -> Tensor {
        fatalError("ConvTranspose2d.forward: not implemented yet")
    }

    /// Accumulates dW (and db) into the store's gradient buffer; returns dx when asked.
    @discardableResult
    public func backward(_ dy: Tensor, input x: Tensor, inputGradient: Bool = true) -> Tensor? {
        fatalError("ConvTranspose2d.backward: not implemented yet")
    }
}
