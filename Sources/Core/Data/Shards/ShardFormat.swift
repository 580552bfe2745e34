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
///     end−(25+8n)   4                   0x184D2A5E  skippable magic (zstd seekable-format seek table)
///                   4                   8(n+1) + 9
///                   8                   entry 0, the header frame: compressed size 8+P u32, raw size 0
///                   8n                  entry 1+i, trajectory i: c_i compressed size u32, d_i raw size u32
///                   4                   n + 1 (number of frames before the seek table, skippable included)
///                   1                   descriptor: bit 7 checksum flag = 0 (each frame carries zstd's own
///                                       checksum), bits 6–2 reserved = 0, bits 1–0 unused (ignored)
///                   4                   0x8F92EAB1  seekable magic (last 4 bytes of the file)
///
/// The seek table follows the zstd seekable format exactly (the cumulative compressed sizes are the
/// file offsets of the frames, the skippable header frame counts as a frame with raw size 0), so
/// standard seekable readers can jump to a trajectory too.
///
/// Header payload (P = 64 + 8n + 8·n·T·S bytes exactly; latent shards + 8n):
///
///     0   8  "CPAESHRD"          8  u16 version (1)    10 u16 flags (0)
///     12  u32 CRC32C of the payload computed with this field zeroed
///     16  u32 T frames per trajectory   20 u32 H   24 u32 W   28 u32 C   32 u32 S state dimension
///     36  u32 n trajectories   40 u32 shard index   44 i32 zstd level
///     48  u16 payload kind (ShardPayload: 0 frames, 1 latents)   50..55 zero (reserved)
///     56  f64 dt for latent shards, zero for frame shards
///     64  n × i64 trajectory ids
///     64+8n  n × T × S × f64 ground-truth states (trajectory-major; S = 0 for real video)
///     latent shards only: n × u32 first frame, then n × u32 split code (docs/formats.md §Latent shard)
public enum ShardFormat {
    public static let version: UInt16 = 1
    public static let fileExtension = "cpz"
    static let magic: [UInt8] = Array("CPAESHRD".utf8)
    static let skippableHeaderMagic: UInt32 = 0x184D_2A50
    static let skippableSeekTableMagic: UInt32 = 0x184D_2A5E
    static let seekableFooterMagic: UInt32 = 0x8F92_EAB1
    static let fixedHeaderBytes = 64
    static let seekFooterBytes = 9
    /// Seek-table frame for n trajectories: frame header, n + 1 entries, footer.
    static func seekTableBytes(trajectories n: Int) -> Int { 8 + 8 * (n + 1) + seekFooterBytes }
    /// Smallest possible file: header frame with n = 0 plus its seek table.
    static let minimumFileBytes = 8 + fixedHeaderBytes + seekTableBytes(trajectories: 0)

    // Plausibility limits, checked before any allocation sized by a header field.
    static let maxFrames = 1 << 20
    static let maxSide = 1 << 14
    static let maxChannels = 4
    static let maxStateDimension = 1024
    static let maxTrajectories = 1 << 20
    static let maxHeaderBytes = 1 << 30
    /// 1 GiB, the largest frame the reference seekable decoder accepts
    /// (ZSTD_SEEKABLE_MAX_FRAME_DECOMPRESSED_SIZE); a 1,212-frame 3×128×128 trajectory is 60 MB.
    static let maxTrajectoryBytes = 1 << 30
}

/// The zstd seekable-format seek table of a shard: the header frame's entry, then one per trajectory.
struct SeekTable: Equatable {
    var headerFrameBytes: Int
    var compressedSizes: [Int]
    var rawSizes: [Int]

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.u32(ShardFormat.skippableSeekTableMagic)
        w.u32(UInt32(ShardFormat.seekTableBytes(trajectories: compressedSizes.count) - 8))
        w.u32(UInt32(headerFrameBytes)); w.u32(0)
        for (c, d) in zip(compressedSizes, rawSizes) { w.u32(UInt32(c)); w.u32(UInt32(d)) }
        w.u32(UInt32(compressedSizes.count + 1))
        w.bytes([0])
        w.u32(ShardFormat.seekableFooterMagic)
        return w.data
    }
}
