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

/// The parsed, validated header of one shard.
public struct ShardHeader: Equatable {
    public var frameCount: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    public var stateDimension: Int
    public var shardIndex: Int
    public var compressionLevel: Int
    public var trajectoryIDs: [Int]
    /// n × T × S doubles.
    public var states: [Double]

    public var trajectoryCount: Int { trajectoryIDs.count }
    public var bytesPerTrajectory: Int { frameCount * height * width * channels }

    /// Payload size implied by the fixed fields, with overflow checks; nil if absurd.
    static func payloadSize(count: Int, frames: Int, stateDimension: Int) -> Int? {
        let (a, o1) = count.multipliedReportingOverflow(by: frames)
        guard !o1 else { return nil }
        let (b, o2) = a.multipliedReportingOverflow(by: stateDimension)
        guard !o2 else { return nil }
        let (c, o3) = b.multipliedReportingOverflow(by: 8)
        guard !o3 else { return nil }
        let total = ShardFormat.fixedHeaderBytes + 8 * count + c
        return total <= ShardFormat.maxHeaderBytes ? total : nil
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(ShardFormat.magic)
        w.u16(ShardFormat.version); w.u16(0); w.u32(0)
        for v in [frameCount, height, width, channels, stateDimension, trajectoryCount, shardIndex] { w.u32(UInt32(v)) }
        w.u32(UInt32(bitPattern: Int32(compressionLevel)))
        w.bytes([UInt8](repeating: 0, count: 16))
        for id in trajectoryIDs { w.u64(UInt64(bitPattern: Int64(id))) }
        for s in states { w.u64(s.bitPattern) }
        var out = w.data
        let crc = CRC32C.checksum(out)
        out.replaceSubrange(12..<16, with: ByteWriter.le32(crc))
        return out
    }

    /// Validates the fixed part (first 64 bytes) before the caller reads the variable part.
    /// Returns the exact payload size those fields imply.
    static func validateFixed(_ p: [UInt8], file: String) throws -> Int {
        guard Array(p[0..<8]) == ShardFormat.magic else {
            throw DatasetError(.notAShard, "\(file) is not a cpae shard (header magic is \(printable(p[0..<8])), expected \"CPAESHRD\") — \(regenerateAdvice)")
        }
        let r = ByteReader(p)
        let version = r.u16(8)
        guard version == ShardFormat.version else {
            throw DatasetError(.unsupportedVersion, "\(file): shard format version \(version), this build reads version \(ShardFormat.version) — rebuild the dataset with this cpae-mpi (`cpae-mpi generate`/`ingest`) or use a matching cpae-mpi")
        }
        let flags = r.u16(10)
        let t = Int(r.u32(16)), h = Int(r.u32(20)), wd = Int(r.u32(24)), c = Int(r.u32(28))
        let s = Int(r.u32(32)), n = Int(r.u32(36))
        var problems: [String] = []
        if flags != 0 { problems.append("flags \(flags) (must be 0)") }
        if !(1...ShardFormat.maxFrames).contains(t) { problems.append("frame count \(t) (1…\(ShardFormat.maxFrames))") }
        if !(1...ShardFormat.maxSide).contains(h) { problems.append("height \(h) (1…\(ShardFormat.maxSide))") }
        if !(1...ShardFormat.maxSide).contains(wd) { problems.append("width \(wd) (1…\(ShardFormat.maxSide))") }
        if !(1...ShardFormat.maxChannels).contains(c) { problems.append("channels \(c) (1…\(ShardFormat.maxChannels))") }
        if s > ShardFormat.maxStateDimension { problems.append("state dimension \(s) (≤ \(ShardFormat.maxStateDimension))") }
        if n > ShardFormat.maxTrajectories { problems.append("trajectory count \(n) (≤ \(ShardFormat.maxTrajectories))") }
        if p[48..<64].contains(where: { $0 != 0 }) { problems.append("reserved bytes 48–63 not zero") }
        if problems.isEmpty, t * h * wd * c > ShardFormat.maxTrajectoryBytes {
            problems.append("trajectory size \(t)×\(h)×\(wd)×\(c) bytes exceeds 4 GiB")
        }
        guard problems.isEmpty, let size = payloadSize(count: n, frames: t, stateDimension: s) else {
            let what = problems.isEmpty ? "header would exceed \(ShardFormat.maxHeaderBytes) bytes" : problems.joined(separator: ", ")
            throw DatasetError(.implausibleHeader, "\(file): shard header has implausible fields: \(what) — the header is corrupted; \(regenerateAdvice)")
        }
        return size
    }

    /// Parses a full payload whose size `validateFixed` approved.
    static func decode(_ p: [UInt8], file: String) throws -> ShardHeader {
        let expected = try validateFixed(p, file: file)
        guard p.count == expected else {
            throw DatasetError(.sizeMismatch, "\(file): header payload is \(p.count) bytes, its fields imply \(expected) — header corrupted; \(regenerateAdvice)")
        }
        let r = ByteReader(p)
        let stored = r.u32(12)
        var zeroed = p
        zeroed.replaceSubrange(12..<16, with: [0, 0, 0, 0])
        let actual = CRC32C.checksum(zeroed)
        guard stored == actual else {
            throw DatasetError(.headerCorrupted, "\(file): header checksum mismatch (stored CRC32C \(hex32(stored)), computed \(hex32(actual))) — the header is corrupted; \(regenerateAdvice)")
        }
        let n = Int(r.u32(36)), t = Int(r.u32(16)), s = Int(r.u32(32))
        let ids = (0..<n).map { Int(Int64(bitPattern: r.u64(64 + 8 * $0))) }
        let base = 64 + 8 * n
        let states = (0..<(n * t * s)).map { Double(bitPattern: r.u64(base + 8 * $0)) }
        if let bad = states.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(.headerCorrupted, "\(file): state value \(bad) (trajectory \(ids[bad / max(t * s, 1)])) is not finite — \(regenerateAdvice)")
        }
        var seen = Set<Int>()
        for id in ids where !seen.insert(id).inserted {
            throw DatasetError(.inconsistent, "\(file): trajectory id \(id) appears twice in one shard — \(regenerateAdvice)")
        }
        return ShardHeader(frameCount: t, height: Int(r.u32(20)), width: Int(r.u32(24)), channels: Int(r.u32(28)),
                           stateDimension: s, shardIndex: Int(r.u32(40)),
                           compressionLevel: Int(Int32(bitPattern: r.u32(44))), trajectoryIDs: ids, states: states)
    }
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

func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}

func printable<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    "\"" + bytes.map { (32..<127).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined() + "\""
}

struct ByteWriter {
    var data: [UInt8] = []
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    mutating func bytes(_ b: [UInt8]) { data += b }
    mutating func u16(_ v: UInt16) { data.append(UInt8(v & 0xFF)); data.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { data += Self.le32(v) }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
}

/// Little-endian field access into a buffer whose length the caller has already checked.
struct ByteReader {
    let b: [UInt8]
    init(_ b: [UInt8]) { self.b = b }
    func u16(_ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
}
