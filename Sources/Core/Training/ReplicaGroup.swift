/// The replicas of a data-parallel job as the training loop sees them: Core's view of a
/// communicator. `Distributed` implements it over MPI; `SingleProcess` is the one-rank case, so the
/// same loop runs on a laptop and under mpirun.
///
/// Every method is a collective: every rank calls it, in the same order, with the same counts.
public protocol ReplicaGroup: Reducer {
    var rank: Int { get }
    /// In-place maximum over replicas.
    func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    /// Overwrites `buffer` on every rank with rank `root`'s values.
    func broadcastFloats(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int)
    /// Rank `root`'s bytes on every rank (lengths may differ before the call).
    func broadcast(bytes: [UInt8], root: Int) -> [UInt8]
    /// Waits until every rank arrives (used to tell waiting for a slow peer from communication).
    func synchronize()
    /// Ends the whole job with a message naming this rank; never returns.
    func abort(_ message: String, code: Int32) -> Never
}

extension ReplicaGroup {
    public var isRoot: Bool { rank == 0 }
}

/// One process, no peers: every collective is the identity.
public final class SingleProcess: ReplicaGroup {
    public init() {}
    public var rank: Int { 0 }
    public var replicas: Int { 1 }
    public func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func broadcastFloats(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {}
    public func broadcast(bytes: [UInt8], root: Int) -> [UInt8] { bytes }
    public func synchronize() {}
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandleStderr.write("cpae-mpi: \(message)\n")
        exit(code)
    }
}

import Foundation
enum FileHandleStderr {
    static func write(_ s: String) { FileHandle.standardError.write(s.data(using: .utf8)!) }
}
