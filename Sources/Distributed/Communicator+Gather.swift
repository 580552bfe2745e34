import CMPI

extension Communicator {
    /// Every rank's value, indexed by rank, on every rank (MPI_Allgather).
    public func allgather<T: MPIScalar & Numeric>(_ value: T) throws -> [T] {
        var result = [T](repeating: 0, count: size)
        let datatype = T.mpiElementType.datatype
        watchdog.begin("MPI_Allgather", count: 1, type: T.mpiElementType)
        defer { watchdog.end() }
        try withUnsafePointer(to: value) { send in
            try result.withUnsafeMutableBufferPointer { out in
                try mpiCheck(MPI_Allgather(send, 1, datatype, out.baseAddress, 1, datatype, handle.raw), "MPI_Allgather")
            }
        }
        return result
    }

    /// Every rank's string, indexed by rank, on every rank: lengths first, then the bytes with
    /// MPI_Allgatherv. Meant for small diagnostics (host names, per-rank error summaries).
    public func allgather(_ string: String) throws -> [String] {
        var bytes = Array(string.utf8)
        guard bytes.count <= Int(Int32.max) else {
            throw DistributedError("allgather of a \(bytes.count)-byte string: strings must be under 2 GiB")
        }
        let lengths = try allgather(Int32(bytes.count))
        var offsets = [Int32](repeating: 0, count: size)
        var total = 0
        for r in 0..<size {
            guard total <= Int(Int32.max) else {
                throw DistributedError("allgather of strings totalling more than 2 GiB")
            }
            offsets[r] = Int32(total)
            total += Int(lengths[r])
        }
        var gathered = [UInt8](repeating: 0, count: max(total, 1))
        let myLength = Int32(bytes.count)
        watchdog.begin("MPI_Allgatherv", count: total, type: .uint8)
        defer { watchdog.end() }
        try bytes.withUnsafeMutableBufferPointer { send in
            try gathered.withUnsafeMutableBufferPointer { out in
                try mpiCheck(MPI_Allgatherv(send.baseAddress ?? out.baseAddress, myLength, cmpi_uint8(),
                                            out.baseAddress, lengths, offsets, cmpi_uint8(), handle.raw),
                             "MPI_Allgatherv")
            }
        }
        return (0..<size).map { r in
            let start = Int(offsets[r])
            return String(decoding: gathered[start..<start + Int(lengths[r])], as: UTF8.self)
        }
    }
}
