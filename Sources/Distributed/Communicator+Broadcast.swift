import CMPI
import Foundation

extension Communicator {
    /// MPI_Bcast of `count` elements from `root` into every rank's buffer.
    /// Collective: the same count and root on every rank.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, root: Int = 0) throws {
        try validate(root: root)
        precondition(count >= 0, "negative count \(count)")
        if size == 1 || count == 0 { return }
        let datatype = T.mpiElementType.datatype
        watchdog.begin("MPI_Bcast", count: count, type: T.mpiElementType)
        defer { watchdog.end() }
        try forEachChunk(count: count) { offset, length in
            try mpiCheck(MPI_Bcast(buffer + offset, length, datatype, Int32(root), handle.raw),
                         "MPI_Bcast(\(count) × \(T.self) from rank \(root))")
        }
    }

    /// Broadcasts an array from `root`: its length first, then its elements, so other ranks may
    /// pass an array of any length (it is resized to the root's).
    public func broadcast<T: MPIScalar & Numeric>(_ array: inout [T], root: Int = 0) throws {
        var count = Int64(array.count)
        try broadcast(&count, count: 1, root: root)
        if rank != root {
            guard count >= 0 && count <= Int64(Int.max) else {
                throw DistributedError("broadcast from rank \(root) announced an invalid length \(count)")
            }
            array = [T](repeating: 0, count: Int(count))
        }
        let n = array.count
        try array.withUnsafeMutableBufferPointer {
            guard let base = $0.baseAddress else { return }
            try broadcast(base, count: n, root: root)
        }
    }

    /// Broadcasts bytes from `root` (length, then bytes); other ranks' argument is ignored.
    public func broadcast(_ data: Data, root: Int = 0) throws -> Data {
        var bytes = rank == root ? [UInt8](data) : []
        try broadcast(&bytes, root: root)
        return Data(bytes)
    }

    /// Broadcasts a string from `root` as UTF-8 (length, then bytes); other ranks' argument is ignored.
    public func broadcast(_ string: String, root: Int = 0) throws -> String {
        var bytes = rank == root ? Array(string.utf8) : []
        try broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }
}
