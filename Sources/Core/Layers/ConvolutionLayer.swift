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
    @discardableResult
    func backward(_ dy: Tensor, input x: Tensor, inputGradient: Bool, biasGradient: Bool) -> Tensor?
    var store: ParameterStore { get }
}

extension ConvolutionLayer {
    @discardableResult
    public func backward(_ dy: Tensor, input x: Tensor, inputGradient: Bool) -> Tensor? {
        backward(dy, input: x, inputGradient: inputGradient, biasGradient: true)
    }

    /// Runs `body(first, count)` over the batch: once for the whole batch, or, in the deterministic
    /// mode (`ParameterStore.exact` set), once per sample in order, so each sample is computed by
    /// the same GEMM shapes however the global batch is split (docs/distributed.md §Deterministic).
    @inline(__always)
    func forEachSampleGroup(_ batch: Int, _ body: (_ first: Int, _ count: Int) -> Void) {
        if store.exact == nil {
            body(0, batch)
        } else {
            for s in 0..<batch { body(s, 1) }
        }
    }

    /// Deterministic mode: moves the sample's weight (and bias) gradient into the exact sums.
    @inline(__always)
    func foldSample(weight: Param, bias: Param?) {
        guard store.exact != nil else { return }
        store.fold(weight, threads: budget.threads)
        if let bias { store.fold(bias) }
    }
}

extension Conv2d: ConvolutionLayer {}
extension ConvTranspose2d: ConvolutionLayer {}
