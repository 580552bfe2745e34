import Foundation

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
    private let producer: Producer
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
                                tail: config.tail, seed: seed)
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
        producer = Producer(reader: reader, sampler: sampler, cache: cache, localBatch: localBatch,
                            stepsPerEpoch: stepsPerEpoch, capacity: prefetch)
        try checkPosition(start)
        producer.start(at: start)
    }

    deinit { producer.stop() }

    /// Stops the prefetch thread (idempotent; also done on deinit).
    public func close() { producer.stop() }

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

/// The state shared by the loader and its prefetch thread.
private final class Producer {
    let reader: DatasetReader
    let sampler: WindowSampler
    let cache: TrajectoryCache
    let localBatch: Int
    let stepsPerEpoch: Int
    let capacity: Int
    let context = DecompressionContext()   // used by one thread at a time (producer thread, or caller when capacity 0)

    private let condition = NSCondition()
    private var queue: [Result<Batch, Error>] = []
    private var next = LoaderPosition(epoch: 0, step: 0)
    private var stopping = false
    private var failed = false
    private var thread: JoinableThread?
    private var epochWindows: (epoch: Int, windows: [Window], nextUse: [[Int: Int]])?

    init(reader: DatasetReader, sampler: WindowSampler, cache: TrajectoryCache, localBatch: Int, stepsPerEpoch: Int, capacity: Int) {
        self.reader = reader; self.sampler = sampler; self.cache = cache
        self.localBatch = localBatch; self.stepsPerEpoch = stepsPerEpoch; self.capacity = capacity
    }

    func advance(_ p: LoaderPosition) -> LoaderPosition {
        p.step + 1 == stepsPerEpoch ? LoaderPosition(epoch: p.epoch + 1, step: 0) : LoaderPosition(epoch: p.epoch, step: p.step + 1)
    }

    func start(at position: LoaderPosition) {
        condition.lock()
        queue.removeAll(); next = position; stopping = false; failed = false
        condition.unlock()
        guard capacity > 0 else { return }
        thread = JoinableThread { [self] in self.run() }
    }

    /// Signals the thread and waits until it has exited (no thread outlives its loader).
    func stop() {
        guard thread != nil else { return }
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        thread?.join()
        thread = nil
        condition.lock()
        queue.removeAll()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while !stopping && (queue.count >= capacity || failed) { condition.wait() }
            if stopping { condition.unlock(); return }
            let position = next
            condition.unlock()
            let result = Result { try self.produce(position) }
            condition.lock()
            if stopping { condition.unlock(); return }
            queue.append(result)
            if case .failure = result { failed = true }
            next = advance(position)
            condition.broadcast()
            condition.unlock()
        }
    }

    func take(expected: LoaderPosition) throws -> Batch {
        guard capacity > 0 else { return try produce(expected) }
        condition.lock()
        while queue.isEmpty {
            if stopping {
                condition.unlock()
                throw DatasetError(.invalidArgument, "BatchLoader: nextBatch() after close()")
            }
            condition.wait()
        }
        let result = queue.removeFirst()
        condition.broadcast()
        condition.unlock()
        return try result.get()
    }

    /// For each step: trajectory → the next step of this epoch that uses it again (absent: not again).
    /// This is what lets the cache evict the trajectory needed farthest ahead.
    static func nextUses(_ windows: [Window], localBatch: Int, steps: Int) -> [[Int: Int]] {
        var result = [[Int: Int]](repeating: [:], count: steps)
        var following: [Int: Int] = [:]
        for step in stride(from: steps - 1, through: 0, by: -1) {
            let lo = step * localBatch, hi = min(lo + localBatch, windows.count)
            guard lo < hi else { continue }
            let ids = Set(windows[lo..<hi].map(\.trajectory))
            for id in ids { if let f = following[id] { result[step][id] = f } }
            for id in ids { following[id] = step }
        }
        return result
    }

    func produce(_ p: LoaderPosition) throws -> Batch {
        if epochWindows?.epoch != p.epoch {
            let all = sampler.windows(epoch: p.epoch)
            epochWindows = (p.epoch, all, Self.nextUses(all, localBatch: localBatch, steps: stepsPerEpoch))
        }
        let all = epochWindows!.windows
        let nextUse = epochWindows!.nextUse[p.step]
        let lo = p.step * localBatch, hi = min(lo + localBatch, all.count)
        let windows = Array(all[lo..<hi])
        let c = reader.description.channels, h = reader.description.height, w = reader.description.width
        let x = Tensor(uninitialized: [windows.count, c, h, 2 * w])
        let y = Tensor(uninitialized: [windows.count, c, h, 2 * w])
        let stride = c * h * 2 * w
        // Visit the batch grouped by trajectory (each window still lands in its own slot n), so a
        // trajectory is decoded at most once per batch however small the cache.
        let order = windows.indices.sorted { (windows[$0].trajectory, $0) < (windows[$1].trajectory, $1) }
        var current: FrameSequence?
        for n in order {
            let window = windows[n]
            if current?.id != window.trajectory {
                current = try cache.trajectory(id: window.trajectory, nextUse: nextUse[window.trajectory] ?? .max) {
                    try reader.trajectory(id: window.trajectory, context: context)
                }
            }
            PairAssembler.write(pairOf: current!, t: window.t, into: x.data + n * stride)
            PairAssembler.write(pairOf: current!, t: window.t + 2, into: y.data + n * stride)
        }
        return Batch(x: x, y: y, windows: windows, position: p)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// A pthread that can be joined: `stop()` returns only after the thread has really exited, so no
/// prefetch thread outlives its loader (Foundation's Thread cannot be joined).
final class JoinableThread {
    private var handle = pthread_t()

    init(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() { pthread_join(handle, nil) }

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
}
