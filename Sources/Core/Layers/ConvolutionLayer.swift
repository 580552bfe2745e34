/// One backward pass of a convolution layer: its output gradient, the input of the forward pass it
/// belongs to and what that pass kept (`forward(_:keep:)`). The reference objective runs the encoder
/// and the decoder twice a step; their passes go through each layer's backward together, so the
/// deterministic mode sums a unit's passes before folding them (one weight-gradient transform and
/// one exact fold per unit instead of two). The default mode runs them one after the other, each
/// accumulating into the gradient in pass order, exactly as separate calls would.
public struct ConvPass {
    public let outputGradient: Tensor
    public let input: Tensor
    public let kept: Tensor?
    public init(outputGradient: Tensor, input: Tensor, kept: Tensor?) {
        self.outputGradient = outputGradient
        self.input = input
        self.kept = kept
    }
}

/// What Conv2d and ConvTranspose2d share, so a model block can hold either.
public protocol ConvolutionLayer: AnyObject {
    var inChannels: Int { get }
    var outChannels: Int { get }
    var weight: Param { get }
    var bias: Param? { get }
    var budget: ComputeBudget { get set }
    var algorithm: ConvAlgorithm { get set }
    func resolvedAlgorithm(height: Int, width: Int) -> ConvAlgorithm
    func outputSize(height: Int, width: Int) -> (height: Int, width: Int)
    func multiplyAdds(height: Int, width: Int) -> Int
    func forward(_ x: Tensor) -> Tensor
    /// The forward pass and what the backward of the same x may reuse (nil: nothing to keep).
    func forward(_ x: Tensor, keep: Bool) -> (output: Tensor, kept: Tensor?)
    /// The passes' backward together (`ConvPass`): their dW (and db) accumulated in pass order,
    /// each pass's dx when asked.
    func backward(_ passes: [ConvPass], inputGradient: Bool, biasGradient: Bool) -> [Tensor?]
}

extension ConvolutionLayer {
    /// One pass's backward: accumulates dW (and db, unless `biasGradient` is false) into the store's
    /// gradient buffer; returns dx when asked (the first layer of a network does not need it).
    /// `kept`: what `forward(x, keep: true)` returned for this same x.
    @discardableResult
    public func backward(_ dy: Tensor, input x: Tensor, inputGradient: Bool = true, biasGradient: Bool = true,
                         kept: Tensor? = nil) -> Tensor? {
        backward([ConvPass(outputGradient: dy, input: x, kept: kept)], inputGradient: inputGradient, biasGradient: biasGradient)[0]
    }
}

extension ConvolutionLayer {
    /// What a backward call's passes must be, for either layer kind: inputs of one shape, output
    /// gradients of `outputGradientShape`, and `kept` absent or what this layer's forward pass of that
    /// input keeps (`keptFloats` floats; nil: it keeps nothing).
    func checkPasses(_ passes: [ConvPass], outputGradientShape: [Int], keptFloats: Int?) {
        let layer = String(describing: Self.self), x0 = passes[0].input
        for p in passes {
            precondition(p.input.shape == x0.shape, "\(layer).backward: the passes' inputs differ in shape (\(p.input.shape), \(x0.shape))")
            precondition(p.outputGradient.shape == outputGradientShape,
                         "\(layer).backward: output gradient must be \(outputGradientShape), got \(p.outputGradient.shape)")
            if let kept = p.kept {
                precondition(keptFloats != nil, "\(layer).backward: its forward pass keeps nothing")
                precondition(kept.count == keptFloats, "\(layer).backward: kept is not from this input's forward pass")
            }
        }
    }
}

extension Conv2d: ConvolutionLayer {}
extension ConvTranspose2d: ConvolutionLayer {
    /// Its weight gradient transforms the output gradient, which no forward pass has: nothing to keep.
    public func forward(_ x: Tensor, keep: Bool) -> (output: Tensor, kept: Tensor?) { (forward(x), nil) }
}
