/// One training sample (docs/method.md §Data): frames (t, t+1) of a trajectory are the input pair, (t+2, t+3) the target.
public struct Window: Hashable, Sendable, Codable, CustomStringConvertible {
    public var trajectory: Int
    public var t: Int
    public init(trajectory: Int, t: Int) { self.trajectory = trajectory; self.t = t }
    public var description: String { "(\(trajectory), \(t))" }
}

public enum SplitName: String, Sendable, CaseIterable, Codable {
    case train, validation, test
}

/// DistributedSampler semantics over a global window list: each epoch a permutation seeded by
/// seed + epoch (identical on every rank when the seed is), padded by wrapping around to a multiple of
/// the world size or with the tail dropped, and rank r takes every worldSize-th entry starting at r.
/// Every rank therefore gets exactly `samplesPerRank` windows — the property that keeps collectives
/// in lockstep. Works for any world size, also more ranks than windows (padding repeats windows).
public struct WindowSampler: Sendable {
    public enum Tail: String, Sendable, Codable {
        /// Repeat windows from the start of the permutation until the count divides evenly.
        case pad
        /// Drop the last (count mod worldSize) windows of the permutation.
        case drop
    }

    public let windows: [Window]
    public let rank: Int
    public let worldSize: Int
    public let shuffle: Bool
    public let tail: Tail
    public let seed: UInt64
    /// The epoch is padded or dropped to a multiple of this (a multiple of the world size).
    public let alignment: Int
    /// Given an alignment (the deterministic mode's global batch), each run of `alignment` entries
    /// is dealt out in contiguous blocks — rank r takes entries r·b ..< (r+1)·b of it, b =
    /// alignment / worldSize — instead of every worldSize-th entry: then a fixed group of consecutive
    /// samples of a global batch (the deterministic mode's unit) is the same samples, in the same
    /// order, on whichever rank holds it.
    public let contiguous: Bool

    public init(windows: [Window], rank: Int, worldSize: Int, shuffle: Bool = true, tail: Tail = .pad, seed: UInt64,
                alignment: Int? = nil) {
        precondition(worldSize >= 1 && rank >= 0 && rank < worldSize, "rank \(rank) of world size \(worldSize)")
        contiguous = alignment != nil
        let alignment = alignment ?? worldSize
        precondition(alignment >= 1 && alignment % worldSize == 0, "alignment \(alignment) is not a multiple of the world size \(worldSize)")
        self.windows = windows; self.rank = rank; self.worldSize = worldSize
        self.shuffle = shuffle; self.tail = tail; self.seed = seed; self.alignment = alignment
    }

    /// Windows per rank per epoch: derived from global counts only, so identical on every rank.
    public var samplesPerRank: Int {
        let n = windows.count
        if n == 0 { return 0 }
        let aligned = tail == .pad ? (n + alignment - 1) / alignment * alignment : n / alignment * alignment
        return aligned / worldSize
    }

    public var totalSize: Int { samplesPerRank * worldSize }

    /// The epoch's global order (before padding/dropping).
    public func permutation(epoch: Int) -> [Int] {
        var order = Array(0..<windows.count)
        guard shuffle, order.count > 1 else { return order }
        var rng = RNG(seed: seed &+ UInt64(truncatingIfNeeded: epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Self.uniform(below: i + 1, &rng))
        }
        return order
    }

    /// This rank's window indices for `epoch`.
    public func indices(epoch: Int) -> [Int] {
        let order = permutation(epoch: epoch)
        let n = order.count, per = samplesPerRank
        guard per > 0 else { return [] }
        if contiguous {
            let block = alignment / worldSize
            return (0..<per).map { k in order[((k / block) * alignment + rank * block + k % block) % n] }
        }
        return (0..<per).map { k in order[(rank + k * worldSize) % n] }   // wraps only in pad mode
    }

    public func windows(epoch: Int) -> [Window] { indices(epoch: epoch).map { windows[$0] } }

    /// Unbiased integer in 0..<bound (Lemire's multiply-shift with rejection), spelled out so the
    /// order depends only on the RNG, not on the standard library's choice of algorithm.
    static func uniform(below bound: Int, _ rng: inout RNG) -> Int {
        let b = UInt64(bound)
        var m = rng.next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = rng.next().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Every window of a split, in a fixed canonical order (split's id order, then t): the global
    /// index space the sampler permutes, identical on every rank.
    public static func splitWindows(_ split: SplitName, description d: DatasetDescription, splits s: DatasetSplits,
                                    allTrajectories: [Int]) -> [Window] {
        let ids: [Int], range: [Int]?
        switch split {
        case .train: ids = s.train; range = s.trainFrames
        case .validation: ids = s.validation; range = s.validationFrames
        case .test: ids = s.test; range = s.testFrames
        }
        // Time splits (circular motion): every trajectory (or the listed ones) restricted to the
        // split's frame range [start, end); a window needs frames t…t+3 all inside it.
        let start = range?[0] ?? 0
        let end = range?[1] ?? d.frameCount
        let trajectories = (range != nil && ids.isEmpty) ? allTrajectories : ids
        guard end - start >= 4 else { return [] }
        var out: [Window] = []
        out.reserveCapacity(trajectories.count * (end - start - 3))
        for id in trajectories { for t in start...(end - 4) { out.append(Window(trajectory: id, t: t)) } }
        return out
    }
}

extension DatasetReader {
    /// Every window of `split`, in canonical order.
    public func windows(of split: SplitName) -> [Window] {
        WindowSampler.splitWindows(split, description: description, splits: splits, allTrajectories: trajectoryIDs)
    }
}
