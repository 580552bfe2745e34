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
    /// Pad (or drop) each epoch to a multiple of this many windows rather than of the world size
    /// (nil). The deterministic mode sets the global batch: then every rank count sees the same
    /// global batches, the epoch's last one included (docs/distributed.md §Deterministic).
    public var alignment: Int?
    public init(shuffle: Bool = true, tail: WindowSampler.Tail = .pad, dropLastBatch: Bool = false, alignment: Int? = nil) {
        self.shuffle = shuffle; self.tail = tail; self.dropLastBatch = dropLastBatch; self.alignment = alignment
    }
}

public enum CacheCapacity: Sendable {
    case trajectories(Int)
    case bytes(Int)
}
