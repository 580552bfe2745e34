/// Where a loader stands: the next batch it returns is step `step` of epoch `epoch`.
/// Saved in checkpoints; restoring it (with the same seed, world size and batch size) replays the
/// exact same batches.
public struct LoaderPosition: Codable, Equatable, Sendable, CustomStringConvertible {
    public var epoch: Int
    public var step: Int
    public init(epoch: Int, step: Int) { self.epoch = epoch; self.step = step }
    public var description: String { "epoch \(epoch), step \(step)" }
}

/// One rank's batch: X = input pairs (t, t+1), Y = target pairs (t+2, t+3), both N×C×H×2W in [0, 1].
public struct Batch {
    public var x: Tensor
    public var y: Tensor
    public var windows: [Window]
    public var position: LoaderPosition
}

public struct SamplerConfig: Sendable {
    public var shuffle: Bool
    public var tail: WindowSampler.Tail
    /// Drop the last, smaller batch of each epoch (the paper keeps it: false).
    public var dropLastBatch: Bool
    public init(shuffle: Bool = true, tail: WindowSampler.Tail = .pad, dropLastBatch: Bool = false) {
        self.shuffle = shuffle; self.tail = tail; self.dropLastBatch = dropLastBatch
    }
}

public enum CacheCapacity: Sendable {
    case trajectories(Int)
    case bytes(Int)
}
