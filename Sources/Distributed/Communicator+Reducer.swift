import CMPI
import Core

/// Core's `Reducer` over MPI: synchronized BatchNorm and the trainer sum through it without
/// knowing about MPI. Called several times per step (each BatchNorm layer, forward and backward),
/// so it is one in-place MPI_Allreduce and nothing else: no allocation, no copies, and a single
/// rank returns at once. `Reducer` cannot throw, so an MPI failure here ends the job (`abort`).
extension Communicator: Reducer {
    public var replicas: Int { size }

    public func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        reduceOrAbort(buffer, count: count, type: .double)
    }

    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        reduceOrAbort(buffer, count: count, type: .float)
    }

    @inline(__always)
    private func reduceOrAbort<T>(_ buffer: UnsafeMutablePointer<T>, count: Int, type: MPIElementType) {
        do {
            try allreduceInPlace(buffer, count: count, type: type, op: cmpi_op_sum())
        } catch {
            abort(message: "\(error)")
        }
    }
}
