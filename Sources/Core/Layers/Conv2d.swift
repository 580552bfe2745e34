/// 2-D convolution (cross-correlation), PyTorch semantics: weight O×I×kh×kw, bias O,
/// output size floor((n + 2p − k)/s) + 1. Lowered to im2col + cblas_sgemm over the batch.
public final class Conv2d {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let padding: (h: Int, w: Int)
    public let weight: Param
    public let bias: Param?
    public unowned let store: ParameterStore

    /// Registers `name.weight` [O, I, kh, kw] and `name.bias` [O], both U(±1/√(I·kh·kw)).
    public init(store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                bias: Bool = true) {
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel.0, kernel.1)
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
        let bound = 1 / Float(inChannels * kernel.0 * kernel.1).squareRoot()
        weight = store.addParameter("\(name).weight", shape: [outChannels, inChannels, kernel.0, kernel.1],
                                    initializer: .uniform(bound: bound))
        self.bias = bias ? store.addParameter("\(name).bias", shape: [outChannels], initializer: .uniform(bound: bound)) : nil
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding.h - kernel.h) / stride.h + 1, (width + 2 * padding.w - kernel.w) / stride.w + 1)
    }

    /// Multiply-adds of one sample's forward pass at this input size.
    public func multiplyAdds(height: Int, width: Int) -> Int {
        let (oh, ow) = outputSize(height: height, width: width)
        return outChannels * oh * ow * inChannels * kernel.h * kernel.w
    }

    /// x: N×I×H×W → N×O×H'×W'.
    public func forward(_ x: Tensor) -> Tensor {
        fatalError("Conv2d.forward: not implemented yet")
    }

    /// Accumulates dW (and db) into the store's gradient buffer; returns dx when asked
    /// (the first layer of a network does not need it).
    @discardableResult
    public func backward(_ dy: Tensor, input x: Tensor, inputGradient: Bool = true) -> Tensor? {
        fatalError("Conv2d.backward: not implemented yet")
    }
}
