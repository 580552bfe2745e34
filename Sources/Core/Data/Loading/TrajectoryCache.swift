import Foundation

/// A bounded cache of decoded trajectories. One 60-frame 3×128×128 trajectory is 2.9 MB raw and
/// yields 57 windows, so keeping decoded ones saves repeated decompression; the byte bound keeps a
/// rank from ever holding the whole dataset.
///
/// Eviction: when the caller knows when each trajectory is needed next (the loader does: a rank's
/// whole epoch order is known in advance), the entry needed farthest in the future goes first —
/// Belady's optimal policy, which on random window orders needs ~40% fewer decodes than LRU at the
/// same capacity. Entries without a known next use go first, least recently used first.
/// `peakBytes` never exceeds the capacity: a trajectory that would only fit by evicting entries
/// needed sooner is returned without being cached. Thread-safe.
public final class TrajectoryCache {
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        public var evictions = 0
        public var bytes = 0
        public var peakBytes = 0
        public var entries = 0
    }

    private struct Entry {
        var sequence: FrameSequence
        var nextUse: Int       // Int.max: unknown / not again
        var lastUse: UInt64
    }

    public let capacityBytes: Int
    private var entries: [Int: Entry] = [:]
    private var clock: UInt64 = 0
    private var stats = Statistics()
    private let lock = NSLock()

    public init(capacityBytes: Int) {
        precondition(capacityBytes >= 0)
        self.capacityBytes = capacityBytes
    }

    public var statistics: Statistics { lock.lock(); defer { lock.unlock() }; return stats }

    /// Farther-needed first; among equals, least recently used first.
    private static func evictsBefore(_ a: Entry, _ b: Entry) -> Bool {
        a.nextUse != b.nextUse ? a.nextUse > b.nextUse : a.lastUse < b.lastUse
    }

    /// The cached trajectory, or `load()`'s result (cached if the policy keeps it).
    /// `nextUse`: when (in any increasing unit, e.g. batch number) the caller will need `id` again.
    public func trajectory(id: Int, nextUse: Int = .max, load: () throws -> FrameSequence) rethrows -> FrameSequence {
        lock.lock()
        clock &+= 1
        if var hit = entries[id] {
            hit.nextUse = nextUse; hit.lastUse = clock
            entries[id] = hit
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
        guard entries[id] == nil else { return sequence }
        let candidate = Entry(sequence: sequence, nextUse: nextUse, lastUse: clock)
        // Evict (in policy order) until the new entry fits — unless the new entry is itself the
        // first to go, in which case it is not cached.
        let order = entries.sorted { Self.evictsBefore($0.value, $1.value) }
        var freed = 0, victims: [Int] = []
        for (key, e) in order where stats.bytes - freed + size > capacityBytes {
            if Self.evictsBefore(candidate, e) { return sequence }
            freed += e.sequence.frames.count
            victims.append(key)
        }
        guard stats.bytes - freed + size <= capacityBytes else { return sequence }
        for key in victims { entries[key] = nil; stats.evictions += 1 }
        stats.bytes -= freed
        entries[id] = candidate
        stats.bytes += size
        stats.peakBytes = max(stats.peakBytes, stats.bytes)
        stats.entries = entries.count
        return sequence
    }

    public func removeAll() {
        lock.lock(); defer { lock.unlock() }
        entries.removeAll()
        stats.bytes = 0; stats.entries = 0
    }
}
