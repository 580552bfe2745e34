import Foundation

/// A bounded least-recently-used cache of decoded trajectories. One 60-frame 3×128×128 trajectory is
/// 2.9 MB raw and yields 57 windows, so keeping recently decoded ones saves repeated decompression;
/// the byte bound keeps a rank from ever holding the whole dataset. The most recent entry is always
/// kept, even when it alone exceeds the capacity. Thread-safe.
public final class TrajectoryCache {
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var bytes = 0
        public var peakBytes = 0
        public var entries = 0
    }

    public let capacityBytes: Int
    private var entries: [Int: (sequence: FrameSequence, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    private var stats = Statistics()
    private let lock = NSLock()

    public init(capacityBytes: Int) {
        precondition(capacityBytes >= 0)
        self.capacityBytes = capacityBytes
    }

    public var statistics: Statistics { lock.lock(); defer { lock.unlock() }; return stats }

    /// The cached trajectory, or `load()`'s result, inserted after evicting least recently used ones.
    public func trajectory(id: Int, load: () throws -> FrameSequence) rethrows -> FrameSequence {
        lock.lock()
        clock &+= 1
        if let hit = entries[id] {
            entries[id] = (hit.sequence, clock)
            stats.hits += 1
            lock.unlock()
            return hit.sequence
        }
        stats.misses += 1
        lock.unlock()
        // Decode outside the lock; the cache only ever holds complete trajectories.
        let sequence = try load()
        let size = sequence.frames.count
        lock.lock()
        defer { lock.unlock() }
        if entries[id] == nil {
            while !entries.isEmpty && stats.bytes + size > capacityBytes {
                let victim = entries.min { $0.value.lastUse < $1.value.lastUse }!
                entries[victim.key] = nil
                stats.bytes -= victim.value.sequence.frames.count
                stats.evictions += 1
            }
            entries[id] = (sequence, clock)
            stats.bytes += size
            stats.peakBytes = max(stats.peakBytes, stats.bytes)
            stats.entries = entries.count
        }
        return sequence
    }

    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll()
        stats.bytes = 0; stats.entries = 0
    }
}
