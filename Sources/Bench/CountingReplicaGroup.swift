import Core

/// A `ReplicaGroup` that forwards every call to `inner` and records the size of each sum it
/// passes on, so `bench scaling` learns from the real step how many reductions it makes and how
/// large (the gradient allreduce, and synchronized BatchNorm's per-channel sums) instead of
/// re-deriving them from the layer code. Instrumentation only: the collectives are `inner`'s.
public final class CountingReplicaGroup: ReplicaGroup {
    public let inner: ReplicaGroup
    /// Bytes of each `sum` since the last `reset()`, in call order.
    public private(set) var sumBytes: [Int] = []

    public init(_ inner: ReplicaGroup) { self.inner = inner }

    public func reset() { sumBytes.removeAll(keepingCapacity: true) }

    public var rank: Int { inner.rank }
    public var replicas: Int { inner.replicas }

    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        sumBytes.append(count * MemoryLayout<Float>.size)
        inner.sum(buffer, count: count)
    }

    public func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        sumBytes.append(count * MemoryLayout<Double>.size)
        inner.sum(buffer, count: count)
    }

    public func sum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) {
        sumBytes.append(count * MemoryLayout<Int64>.size)
        inner.sum(buffer, count: count)
    }

    public func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) { inner.maximum(buffer, count: count) }
    public func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) { inner.broadcast(bytes: bytes, root: root) }
    public func synchronize() { inner.synchronize() }
    public func abort(_ message: String, code: Int32) -> Never { inner.abort(message, code: code) }
}
