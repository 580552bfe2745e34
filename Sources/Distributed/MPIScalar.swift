import CMPI

/// The element types the collectives move, each with its MPI datatype.
public enum MPIElementType: Sendable, CustomStringConvertible {
    case float, double, int32, int64, uint64, uint8

    public var description: String {
        switch self {
        case .float: return "Float"
        case .double: return "Double"
        case .int32: return "Int32"
        case .int64: return "Int64"
        case .uint64: return "UInt64"
        case .uint8: return "UInt8"
        }
    }

    var datatype: MPI_Datatype {
        switch self {
        case .float: return cmpi_float()
        case .double: return cmpi_double()
        case .int32: return cmpi_int32()
        case .int64: return cmpi_int64()
        case .uint64: return cmpi_uint64()
        case .uint8: return cmpi_uint8()
        }
    }
}

/// A type the collectives can move: a fixed-size scalar with an MPI datatype.
public protocol MPIScalar {
    static var mpiElementType: MPIElementType { get }
}

/// Floating-point scalars: reducible by sum, average, max and min.
public protocol MPIFloatingScalar: MPIScalar, BinaryFloatingPoint {}
/// Integer scalars: reducible by sum, max and min (an integer average would round; do it yourself).
public protocol MPIIntegerScalar: MPIScalar, FixedWidthInteger {}

extension Float: MPIFloatingScalar { public static var mpiElementType: MPIElementType { .float } }
extension Double: MPIFloatingScalar { public static var mpiElementType: MPIElementType { .double } }
extension Int32: MPIIntegerScalar { public static var mpiElementType: MPIElementType { .int32 } }
extension Int64: MPIIntegerScalar { public static var mpiElementType: MPIElementType { .int64 } }
extension UInt64: MPIIntegerScalar { public static var mpiElementType: MPIElementType { .uint64 } }
extension UInt8: MPIIntegerScalar { public static var mpiElementType: MPIElementType { .uint8 } }
extension Int: MPIIntegerScalar {
    public static var mpiElementType: MPIElementType {
        MemoryLayout<Int>.size == 8 ? .int64 : .int32
    }
}

/// MPI counts are Int32: longer buffers go in consecutive chunks. One iteration for any buffer
/// this trainer has; the loop costs nothing otherwise.
@inline(__always)
func forEachChunk(count: Int, _ body: (_ offset: Int, _ length: Int32) throws -> Void) rethrows {
    let maxChunk = Int(Int32.max)
    var offset = 0
    while offset < count {
        let length = min(maxChunk, count - offset)
        try body(offset, Int32(length))
        offset += length
    }
}
