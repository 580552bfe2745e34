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
            problems.append("trajectory size \(t)×\(h)×\(wd)×\(c) bytes exceeds 1 GiB")
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
