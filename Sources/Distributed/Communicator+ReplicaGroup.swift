import Core
import Foundation

/// The training loop's view of the MPI job. Collectives that fail cannot be recovered from in the
/// middle of a step, so an MPI error here ends the whole job with its message.
extension Communicator: ReplicaGroup {
    public func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        do { try allreduce(buffer, count: count, .max) } catch { abort(message: "\(error)") }
    }

    public func broadcastFloats(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        do { try broadcast(buffer, count: count, root: root) } catch { abort(message: "\(error)") }
    }

    public func broadcast(bytes: [UInt8], root: Int) -> [UInt8] {
        do { return Array(try broadcast(Data(bytes), root: root)) } catch { abort(message: "\(error)") }
    }

    public func synchronize() {
        do { try barrier() } catch { abort(message: "\(error)") }
    }

    public func abort(_ message: String, code: Int32) -> Never { abort(message: message, code: code) }
}
