import Foundation

/// The replicas of a data-parallel job: Core's one interface for everything cross-rank. The layers
/// (synchronized BatchNorm) and the trainers (phase 1's autoencoder, phase 2's latent ODE: one flat
/// parameter buffer each) reduce, broadcast and stop through it without knowing about MPI.
/// Implementations: `Communicator` in Distributed (MPI), `SingleProcess` (one rank), and
/// `InProcessReplicas` (k replicas on k threads of this process, for tests).
///
/// Every method is a collective: every rank calls it, in the same order, with the same counts.
/// None throws: a failed collective cannot be recovered from mid-step, so implementations end the
/// job with the error instead.
///
/// Averaging is not a collective here: the trainer sums and scales once (its buffer carries values,
/// like the non-finite count, that must not be averaged).
public protocol ReplicaGroup: AnyObject {
    var rank: Int { get }
    /// Number of replicas taking part (1 in a single process).
    var replicas: Int { get }
    /// In-place elementwise sum over replicas; every replica receives the same result.
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// In-place elementwise integer sum: exact and order-independent (the deterministic mode's
    /// fixed-point limbs, `FixedPointFormat`).
    func sum(_ buffer: UnsafeMutablePointer<Int64>, count: Int)
    /// In-place elementwise maximum over replicas.
    func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// Overwrites `bytes` on every rank with rank `root`'s (the same length on every rank).
    func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int)
    /// Waits until every rank arrives (tells waiting for a slow peer from communication).
    func synchronize()
    /// Ends the whole job with a message naming this rank; never returns.
    func abort(_ message: String, code: Int32) -> Never
}

extension ReplicaGroup {
    public var isRoot: Bool { rank == 0 }

    /// Overwrites `count` floats on every rank with rank `root`'s, bit for bit.
    public func broadcast(floats buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        broadcast(bytes: UnsafeMutableRawBufferPointer(start: buffer, count: count * MemoryLayout<Float>.stride), root: root)
    }

    /// Rank `root`'s `value` on every rank, exactly: a plain-data value (no references) travels as
    /// its bytes, so integers of any size arrive unchanged (no Float or text round trip).
    public func broadcast<T: BitwiseCopyable>(value: T, root: Int) -> T {
        var copy = value
        withUnsafeMutableBytes(of: &copy) { broadcast(bytes: $0, root: root) }
        return copy
    }
}

/// One process, no peers: every collective is the identity.
public final class SingleProcess: ReplicaGroup {
    public init() {}
    public var rank: Int { 0 }
    public var replicas: Int { 1 }
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func sum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) {}
    public func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) {}
    public func synchronize() {}
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("cpae-mpi: \(message)\n".utf8))
        exit(code)
    }
}
