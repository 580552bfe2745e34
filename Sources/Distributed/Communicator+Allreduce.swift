import CMPI

/// Reductions of floating-point buffers.
public enum ReduceOp: Sendable {
    /// Sum over ranks.
    case sum
    /// Sum over ranks divided by the number of ranks (the gradient average of data parallelism).
    case average
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
        case .sum, .average: mpiOp = cmpi_op_sum()
        case .max: mpiOp = cmpi_op_max()
        case .min: mpiOp = cmpi_op_min()
        }
        try allreduceInPlace(buffer, count: count, type: T.mpiElementType, op: mpiOp)
        if op == .average && size > 1 { divideInPlace(buffer, count: count, by: size) }
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

    /// Divides by the rank count (not multiply by 1/size, so a sum of equal values averages back
    /// exactly). Concrete loops for Float and Double: called from another module, the generic
    /// code would run unspecialized, one protocol call per element of a million-element gradient.
    private func divideInPlace<T: MPIFloatingScalar>(_ buffer: UnsafeMutablePointer<T>, count: Int, by divisor: Int) {
        let raw = UnsafeMutableRawPointer(buffer)
        if T.self == Float.self {
            let p = raw.assumingMemoryBound(to: Float.self), d = Float(divisor)
            for i in 0..<count { p[i] /= d }
        } else if T.self == Double.self {
            let p = raw.assumingMemoryBound(to: Double.self), d = Double(divisor)
            for i in 0..<count { p[i] /= d }
        } else {
            let d = T(divisor)
            for i in 0..<count { buffer[i] /= d }
        }
    }

    /// MPI_Allreduce with MPI_IN_PLACE, chunked to Int32 counts. A single rank skips MPI entirely.
    @inline(__always)
    func allreduceInPlace<T>(_ buffer: UnsafeMutablePointer<T>, count: Int, type: MPIElementType, op: MPI_Op) throws {
        precondition(count >= 0, "negative count \(count)")
        if size == 1 || count == 0 { return }
        let datatype = type.datatype
        watchdog.begin("MPI_Allreduce", count: count, type: type)
        defer { watchdog.end() }
        try forEachChunk(count: count) { offset, length in
            try mpiCheck(MPI_Allreduce(UnsafeRawPointer(cmpi_in_place()), buffer + offset, length, datatype, op, world.raw),
                         "MPI_Allreduce(\(count) × \(T.self))")
        }
    }
}
