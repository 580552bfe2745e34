/// What BatchNorm's backward needs from its forward.
public struct BatchNormCache {
    public let normalized: Tensor      // x̂ = (x − mean)·invStd
    public let invStd: [Float]         // per channel
    public let mode: Mode
}

/// BatchNorm2d over (N, H, W) per channel, PyTorch semantics: in training, batch statistics with the
/// biased variance normalise and the unbiased one updates the running variance (momentum 0.1,
/// eps 1e-5); in eval, the running statistics. Registers `name.weight`/`name.bias` (γ = 1, β = 0)
/// and buffers `name.running_mean`, `name.running_var`, `name.num_batches_tracked`.
///
/// The per-channel sums go through `reducer` before normalising (forward) and before forming dx
/// (backward), so with a cross-rank reducer this is synchronized BatchNorm over the global batch.
public final class BatchNorm2d {
    public let channels: Int
    public let momentum: Float
    public let eps: Float
    public let weight: Param
    public let bias: Param
    public let runningMean: Param
    public let runningVar: Param
    public let batchesTracked: Param
    public unowned let store: ParameterStore
    public var reducer: Reducer = LocalReducer()

    public init(store: ParameterStore, name: String, channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.store = store
        self.channels = channels
        self.momentum = momentum
        self.eps = eps
        weight = store.addParameter("\(name).weight", shape: [channels], initializer: .constant(1))
        bias = store.addParameter("\(name).bias", shape: [channels], initializer: .constant(0))
        runningMean = store.addBuffer("\(name).running_mean", shape: [channels], value: 0)
        runningVar = store.addBuffer("\(name).running_var", shape: [channels], value: 1)
        batchesTracked = store.addBuffer("\(name).num_batches_tracked", shape: [], value: 0, stored: .i64)
    }

    /// x: N×C×H×W (or N×C) → same shape.
    public func forward(_ x: Tensor, mode: Mode) -> (Tensor, BatchNormCache) {
        fatalError("BatchNorm2d.forward: not implemented yet")
    }

    /// Accumulates dγ, dβ; returns dx.
    public func backward(_ dy: Tensor, cache: BatchNormCache) -> Tensor {
        fatalError("BatchNorm2d.backward: not implemented yet")
    }
}
