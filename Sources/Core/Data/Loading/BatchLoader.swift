import Foundation

/// Per-rank batches of windows of one split. Steps per epoch derive from global counts only, so every
/// rank runs the same number of steps. A background thread assembles up to `prefetch` batches ahead
/// (0 = assemble on the caller's thread); its errors surface from `nextBatch()`. Epochs roll over:
/// after the last step of epoch e comes step 0 of epoch e + 1.
public final class BatchLoader {
    public let sampler: WindowSampler
    public let localBatch: Int
    public let stepsPerEpoch: Int
    public let prefetch: Int
    public let cache: TrajectoryCache
    private let producer: BatchProducer
    private var consumed: LoaderPosition
    private var failure: Error?

    public init(reader: DatasetReader, split: SplitName, sampler config: SamplerConfig = SamplerConfig(),
                rank: Int, worldSize: Int, localBatch: Int, seed: UInt64,
                cacheCapacity: CacheCapacity = .trajectories(64), prefetch: Int = 2,
                start: LoaderPosition = LoaderPosition(epoch: 0, step: 0)) throws {
        guard worldSize >= 1, rank >= 0, rank < worldSize else {
            throw DatasetError(.invalidArgument, "BatchLoader: rank \(rank) is not in 0..<\(worldSize)")
        }
        guard localBatch >= 1 else { throw DatasetError(.invalidArgument, "BatchLoader: local batch must be ≥ 1, got \(localBatch)") }
        guard (0...2).contains(prefetch) else { throw DatasetError(.invalidArgument, "BatchLoader: prefetch must be 0, 1 or 2 batches, got \(prefetch)") }
        let windows = reader.windows(of: split)
        sampler = WindowSampler(windows: windows, rank: rank, worldSize: worldSize, shuffle: config.shuffle,
                                tail: config.tail, seed: seed, alignment: config.alignment)
        let per = sampler.samplesPerRank
        stepsPerEpoch = config.dropLastBatch ? per / localBatch : (per + localBatch - 1) / localBatch
        guard stepsPerEpoch > 0 else {
            throw DatasetError(.invalidArgument, "BatchLoader: the \(split.rawValue) split of \(reader.directory) has \(windows.count) windows; over \(worldSize) ranks (\(config.tail.rawValue) tail) that is \(per) per rank, which gives no \(config.dropLastBatch ? "full " : "")batch of \(localBatch) — use fewer ranks, a smaller batch, or tail .pad")
        }
        self.localBatch = localBatch
        self.prefetch = prefetch
        let bytes: Int
        switch cacheCapacity {
        case .trajectories(let n): bytes = max(n, 0) * reader.bytesPerTrajectory
        case .bytes(let b): bytes = max(b, 0)
        }
        cache = TrajectoryCache(capacityBytes: bytes)
        consumed = start
        producer = BatchProducer(reader: reader, sampler: sampler, cache: cache, localBatch: localBatch,
                            stepsPerEpoch: stepsPerEpoch, capacity: prefetch)
        try checkPosition(start)
        producer.start(at: start)
    }

    deinit { producer.stop() }

    /// Stops the prefetch thread (idempotent; also done on deinit).
    public func close() { producer.stop() }

    /// The running prefetch thread (nil with prefetch 0 or once stopped), for tests that check it is joined.
    var prefetchThread: JoinableThread? { producer.thread }

    /// The position of the next batch `nextBatch()` returns.
    public var position: LoaderPosition { consumed }

    /// Jumps to `position` (e.g. restored from a checkpoint); discards prefetched batches.
    public func seek(to position: LoaderPosition) throws {
        try checkPosition(position)
        producer.stop()
        failure = nil
        consumed = position
        producer.start(at: position)
    }

    public func nextBatch() throws -> Batch {
        if let failure { throw failure }
        do {
            let batch = try producer.take(expected: consumed)
            assert(batch.position == consumed, "prefetch produced \(batch.position), expected \(consumed)")
            consumed = producer.advance(consumed)
            return batch
        } catch {
            failure = error
            throw error
        }
    }

    private func checkPosition(_ p: LoaderPosition) throws {
        guard p.epoch >= 0, p.step >= 0, p.step < stepsPerEpoch else {
            throw DatasetError(.invalidArgument, "BatchLoader: position \(p) is invalid (\(stepsPerEpoch) steps per epoch) — was the checkpoint written with a different batch size or world size?")
        }
    }
}
