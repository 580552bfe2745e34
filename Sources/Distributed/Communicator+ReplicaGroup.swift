import CMPI
import Core

/// Core's `ReplicaGroup` over MPI: synchronized BatchNorm and the trainers reach the other ranks
/// through it without knowing about MPI. The sums run several times per step (each BatchNorm layer,
/// forward and backward), so each is one in-place MPI_Allreduce and nothing else: no allocation, no
/// copies, and a single rank returns at once. A failing collective cannot be recovered from in the
/// middle of a step, so an MPI error here ends the whole job with its message (`abort`).
extension Communicator: ReplicaGroup {
    public var replicas: Int { size }

    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        orAbort { try allreduceInPlace(buffer, count: count, type: .float, op: cmpi_op_sum()) }
    }

    public func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        orAbort { try allreduceInPlace(buffer, count: count, type: .double, op: cmpi_op_sum()) }
    }

    public func sum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) {
        orAbort { try allreduceInPlace(buffer, count: count, type: .int64, op: cmpi_op_sum()) }
    }

    public func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        orAbort { try allreduceInPlace(buffer, count: count, type: .double, op: cmpi_op_max()) }
    }

    public func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = bytes.baseAddress else { return }
        orAbort { try broadcast(base.assumingMemoryBound(to: UInt8.self), count: bytes.count, root: root) }
    }

    public func synchronize() { orAbort { try barrier() } }

    public func abort(_ message: String, code: Int32) -> Never { abort(message: message, code: code) }

    @inline(__always)
    private func orAbort(_ body: () throws -> Void) {
        do { try body() } catch { abort(message: "\(error)") }
    }
}
