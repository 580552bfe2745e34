/// Where the sampler stands: the next batch is batch `step` of epoch `epoch`. Saved in checkpoints
/// so a resumed run continues with exactly the batches it would have seen.
public struct SamplerPosition: Codable, Sendable, Equatable {
    public var epoch: Int
    public var step: Int
    public init(epoch: Int, step: Int) { self.epoch = epoch; self.step = step }
}

/// One rank's share of a global batch: inputs X (pairs t, t+1) and, for the reference objective,
/// targets Y (pairs t+2, t+3).
public struct TrainingBatch {
    public let x: Tensor
    public let y: Tensor?
    public init(x: Tensor, y: Tensor?) { self.x = x; self.y = y }
}

/// A per-rank stream of batches with DistributedSampler semantics: every rank sees the same number
/// of steps per epoch, so no rank ever waits in a collective for a peer that ran out of data.
public protocol BatchSource: AnyObject {
    var stepsPerEpoch: Int { get }
    var position: SamplerPosition { get }
    func seek(to position: SamplerPosition) throws
    func nextBatch() throws -> TrainingBatch
}
