import Foundation

/// The state shared by the loader and its prefetch thread.
final class BatchProducer {
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
    private(set) var thread: JoinableThread?
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
