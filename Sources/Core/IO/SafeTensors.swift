// The safetensors format (https://huggingface.co/docs/safetensors):
//
//   [8 bytes]  N, the header length, little-endian UInt64
//   [N bytes]  JSON: { name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//                      "__metadata__": {string: string} }   (may be padded with trailing spaces)
//   [rest]     raw little-endian tensor data; offsets are relative to the start of this section.
//
// Our writer pads the header with spaces so the data starts on an 8-byte boundary, as the
// reference implementation does. The reader accepts any valid file and checks every header value
// against the file size before allocating from it.

#if _endian(big)
#error("cpae-mpi's file formats are little-endian and are written by memory copy; port before using a big-endian host")
#endif

/// Element types of the safetensors format. The reader knows all of them (so it can validate any
/// file); the checkpoint code uses F32 and I64.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8"
    case bool = "BOOL"

    public var itemSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// One tensor described in a safetensors header.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range within the data section (after the 8 + N header bytes).
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

public enum SafeTensors {
    /// Headers larger than this are refused as corrupt before any allocation (the reference
    /// implementation uses the same 100 MB bound).
    public static let maxHeaderLength = 100_000_000
    /// The reserved header key holding string-to-string metadata.
    public static let metadataKey = "__metadata__"
}
