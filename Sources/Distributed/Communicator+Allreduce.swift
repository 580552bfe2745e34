import CMPI

/// Reductions of floating-point buffers.
public enum ReduceOp: Sendable {
    /// Sum over ranks. (No average: the trainer scales its sum once, see `AutoencoderTrainer.step`.)
    case sum
    case max
    case min
}

/// Reductions of integer buffers (no average: it would round).
public enum IntegerReduceOp: Sendable {
    case sum, max, min
}

extension Communicator {
    // MARK: Floating point

    /// In-place allreduce of `count` elements: afterwards every rank holds the same result.
    /// Collective: every rank must call it with the same count and op, in the same order.
    public func allreduce<T: MPIFloatingScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, _ op: ReduceOp) throws {
        let mpiOp: MPI_Op
        switch op {
        case .sum: mpiOp = cmpi_op_sum()
        case .max: mpiOp = cmpi_op_max()
        case .min: mpiOp = cmpi_op_min()
        }
        try allreduceInPlace(buffer, count: count, type: T.mpiElementType, op: mpiOp)
    }

    /// In-place allreduce of an array (same length on every rank).
    public func allreduce<T: MPIFloatingScalar>(_ array: inout [T], _ op: ReduceOp) throws {
        let count = array.count
        try array.withUnsafeMutableBufferPointer {
            guard let base = $0.baseAddress else { return }
            try allreduce(base, count: count, op)
        }
    }

    /// Allreduce of one value.
    public func allreduce<T: MPIFloatingScalar>(_ value: T, _ op: ReduceOp) throws -> T {
        var result = value
        try allreduce(&result, count: 1, op)
        return result
    }

    // MARK: Integers

    /// In-place allreduce of `count` integers. Collective, like the floating-point version.
    public func allreduce<T: MPIIntegerScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, _ op: IntegerReduceOp) throws {
        let mpiOp: MPI_Op
        switch op {
        case .sum: mpiOp = cmpi_op_sum()
        case .max: mpiOp = cmpi_op_max()
        case .min: mpiOp = cmpi_op_min()
        }
        try allreduceInPlace(buffer, count: count, type: T.mpiElementType, op: mpiOp)
    }

    /// In-place allreduce of an integer array (same length on every rank).
    public func allreduce<T: MPIIntegerScalar>(_ array: inout [T], _ op: IntegerReduceOp) throws {
        let count = array.count
        try array.withUnsafeMutableBufferPointer {
            guard let base = $0.baseAddress else { return }
            try allreduce(base, count: count, op)
        }
    }

    /// Allreduce of one integer.
    public func allreduce<T: MPIIntegerScalar>(_ value: T, _ op: IntegerReduceOp) throws -> T {
        var result = value
        try allreduce(&result, count: 1, op)
        return result
    }

    // MARK: Shared

    /// MPI_Allreduce with MPI_IN_PLACE, chunked to Int32 counts. A single rank skips MPI entirely.
    @inline(__always)
    func allreduceInPlace<T>(_ buffer: UnsafeMutablePointer<T>, count: Int, type: MPIElementType, op: MPI_Op) throws {
        precondition(count >= 0, "negative count \(count)")
        if size == 1 || count == 0 { return }
        let datatype = type.datatype
        watchdog.begin("MPI_Allreduce", count: count, type: type)
        defer { watchdog.end() }
        try forEachChunk(count: count) { offset, length in
            try mpiCheck(MPI_Allreduce(UnsafeRawPointer(cmpi_in_place()), buffer + offset, length, datatype, op, handle.raw),
                         "MPI_Allreduce(\(count) × \(T.self))")
        }
    }
}
