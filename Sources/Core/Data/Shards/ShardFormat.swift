/// Byte layout of a shard file (`*.cpz`), version 1. All integers little-endian. The whole file is a
/// valid zstd stream: `zstd -t` / `zstd -d` accept it and skip the two skippable frames.
///
///     offset        size                field
///     0             4                   0x184D2A50  zstd skippable-frame magic (header frame)
///     4             4                   P = header payload size
///     8             P                   header payload (ShardHeader, below; CRC32C-protected)
///     8+P           Σ c_i               trajectory i: ONE regular zstd frame of T·H·W·C bytes
///                                       (frame-major T×H×W×C uint8), content size set, content
///                                       checksum (XXH64 low 32 bits) on
///     end−(17+8n)   4                   0x184D2A5E  skippable magic (zstd seekable-format seek table)
///                   4                   8n + 9
///                   8n                  per trajectory: c_i compressed size u32, d_i raw size u32
///                   4                   n (number of frames)
///                   1                   descriptor 0 (no per-entry checksums: each frame carries
///                                       zstd's own; reserved bits must be 0)
///                   4                   0x8F92EAB1  seekable magic (last 4 bytes of the file)
///
/// Header payload (P = 64 + 8n + 8·n·T·S bytes exactly):
///
///     0   8  "CPAESHRD"          8  u16 version (1)    10 u16 flags (0)
///     12  u32 CRC32C of the payload computed with this field zeroed
///     16  u32 T frames per trajectory   20 u32 H   24 u32 W   28 u32 C   32 u32 S state dimension
///     36  u32 n trajectories   40 u32 shard index   44 i32 zstd level   48..63 zero (reserved)
///     64  n × i64 trajectory ids
///     64+8n  n × T × S × f64 ground-truth states (trajectory-major; S = 0 for real video)
public enum ShardFormat {
    public static let version: UInt16 = 1
    public static let fileExtension = "cpz"
    static let magic: [UInt8] = Array("CPAESHRD".utf8)
    static let skippableHeaderMagic: UInt32 = 0x184D_2A50
    static let skippableSeekTableMagic: UInt32 = 0x184D_2A5E
    static let seekableFooterMagic: UInt32 = 0x8F92_EAB1
    static let fixedHeaderBytes = 64
    static let seekFooterBytes = 9
    /// Smallest possible file: header frame with n = 0 plus an empty seek table.
    static let minimumFileBytes = 8 + fixedHeaderBytes + 8 + seekFooterBytes

    // Plausibility limits, checked before any allocation sized by a header field.
    static let maxFrames = 1 << 20
    static let maxSide = 1 << 14
    static let maxChannels = 4
    static let maxStateDimension = 1024
    static let maxTrajectories = 1 << 20
    static let maxHeaderBytes = 1 << 30
    static let maxTrajectoryBytes = Int(UInt32.max)   // the seek table stores raw sizes as u32
}

/// The zstd seekable-format seek table: compressed and raw size of every frame.
struct SeekTable: Equatable {
    var compressedSizes: [Int]
    var rawSizes: [Int]

    var frameBytes: Int { 8 + 8 * compressedSizes.count + ShardFormat.seekFooterBytes }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u32(ShardFormat.skippableSeekTableMagic)
        w.u32(UInt32(8 * compressedSizes.count + ShardFormat.seekFooterBytes))
        for (c, d) in zip(compressedSizes, rawSizes) { w.u32(UInt32(c)); w.u32(UInt32(d)) }
        w.u32(UInt32(compressedSizes.count))
        w.bytes([0])
        w.u32(ShardFormat.seekableFooterMagic)
        return w.data
    }
}
