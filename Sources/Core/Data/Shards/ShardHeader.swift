/// The parsed, validated header of one shard (frame or latent, see `ShardPayload`).
public struct ShardHeader: Equatable {
    /// For a latent shard: latents per trajectory.
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
    /// What the trajectory frames hold; frames unless the shard was written by `encode`.
    public var payload: ShardPayload = .frames
    /// Latent shards: seconds between consecutive latents (the dataset's frame interval); 0 for frames.
    public var dt: Double = 0
    /// Latent shards, per trajectory: the frame the first latent starts at (latent k encodes the
    /// frames firstFrame + k and firstFrame + k + 1). Empty for frame shards.
    public var firstFrames: [Int] = []
    /// Latent shards, per trajectory: its split (nil: the dataset splits by frame ranges). Empty for frames.
    public var splits: [SplitName?] = []

    public var trajectoryCount: Int { trajectoryIDs.count }
    public var bytesPerTrajectory: Int { frameCount * height * width * channels * payload.elementBytes }

    /// Payload size implied by the fixed fields, with overflow checks; nil if absurd. Latent shards
    /// add 8 bytes per trajectory (first frame u32, split u32).
    static func payloadSize(count: Int, frames: Int, stateDimension: Int, payload: ShardPayload = .frames) -> Int? {
        let (a, o1) = count.multipliedReportingOverflow(by: frames)
        guard !o1 else { return nil }
        let (b, o2) = a.multipliedReportingOverflow(by: stateDimension)
        guard !o2 else { return nil }
        let (c, o3) = b.multipliedReportingOverflow(by: 8)
        guard !o3 else { return nil }
        let perTrajectory = payload == .latents ? 16 : 8
        let total = ShardFormat.fixedHeaderBytes + perTrajectory * count + c
        return total <= ShardFormat.maxHeaderBytes ? total : nil
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.bytes(ShardFormat.magic)
        w.u16(ShardFormat.version); w.u16(0); w.u32(0)
        for v in [frameCount, height, width, channels, stateDimension, trajectoryCount, shardIndex] { w.u32(UInt32(v)) }
        w.u32(UInt32(bitPattern: Int32(compressionLevel)))
        w.u16(payload.rawValue)
        w.bytes([UInt8](repeating: 0, count: 6))
        w.u64(payload == .latents ? dt.bitPattern : 0)
        for id in trajectoryIDs { w.u64(UInt64(bitPattern: Int64(id))) }
        for s in states { w.u64(s.bitPattern) }
        if payload == .latents {
            for f in firstFrames { w.u32(UInt32(f)) }
            for s in splits { w.u32(ShardSplitCode.code(s)) }
        }
        var out = w.data
        let crc = CRC32C.checksum(out)
        out.replaceSubrange(12..<16, with: ByteWriter.le32(crc))
        return out
    }

    /// Validates the fixed part (first 64 bytes) before the caller reads the variable part.
    /// Returns the exact payload size those fields imply.
    static func validateFixed(_ p: [UInt8], file: String, advice: String = regenerateAdvice) throws -> Int {
        guard Array(p[0..<8]) == ShardFormat.magic else {
            throw DatasetError(.notAShard, "\(file) is not a cpae shard (header magic is \(printable(p[0..<8])), expected \"CPAESHRD\") — \(advice)")
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
        let kind = ShardPayload(rawValue: r.u16(48))
        let payload = kind ?? .frames
        if kind == nil { problems.append("payload kind \(r.u16(48)) (0 frames, 1 latents)") }
        if flags != 0 { problems.append("flags \(flags) (must be 0)") }
        if !(1...ShardFormat.maxFrames).contains(t) { problems.append("frame count \(t) (1…\(ShardFormat.maxFrames))") }
        if !(1...ShardFormat.maxSide).contains(h) { problems.append("height \(h) (1…\(ShardFormat.maxSide))") }
        if !(1...ShardFormat.maxSide).contains(wd) { problems.append("width \(wd) (1…\(ShardFormat.maxSide))") }
        if !(1...ShardFormat.maxChannels).contains(c) { problems.append("channels \(c) (1…\(ShardFormat.maxChannels))") }
        if s > ShardFormat.maxStateDimension { problems.append("state dimension \(s) (≤ \(ShardFormat.maxStateDimension))") }
        if n > ShardFormat.maxTrajectories { problems.append("trajectory count \(n) (≤ \(ShardFormat.maxTrajectories))") }
        if p[50..<56].contains(where: { $0 != 0 }) { problems.append("reserved bytes 50–55 not zero") }
        switch payload {
        case .frames:
            if p[56..<64].contains(where: { $0 != 0 }) { problems.append("bytes 56–63 of a frame shard not zero") }
        case .latents:
            let dt = Double(bitPattern: r.u64(56))
            if !(dt.isFinite && dt > 0) { problems.append("latent time step dt \(dt) (must be finite and > 0)") }
            if h != 1 || c != 1 { problems.append("latent shard with height \(h), channels \(c) (both must be 1; width is d)") }
        }
        if problems.isEmpty, t * h * wd * c * payload.elementBytes > ShardFormat.maxTrajectoryBytes {
            problems.append("trajectory size \(t)×\(h)×\(wd)×\(c)×\(payload.elementBytes) bytes exceeds 1 GiB")
        }
        guard problems.isEmpty, let size = payloadSize(count: n, frames: t, stateDimension: s, payload: payload) else {
            let what = problems.isEmpty ? "header would exceed \(ShardFormat.maxHeaderBytes) bytes" : problems.joined(separator: ", ")
            throw DatasetError(.implausibleHeader, "\(file): shard header has implausible fields: \(what) — the header is corrupted; \(advice)")
        }
        return size
    }

    /// Parses a full payload whose size `validateFixed` approved.
    static func decode(_ p: [UInt8], file: String, advice: String = regenerateAdvice) throws -> ShardHeader {
        let expected = try validateFixed(p, file: file, advice: advice)
        guard p.count == expected else {
            throw DatasetError(.sizeMismatch, "\(file): header payload is \(p.count) bytes, its fields imply \(expected) — header corrupted; \(advice)")
        }
        let r = ByteReader(p)
        let stored = r.u32(12)
        var zeroed = p
        zeroed.replaceSubrange(12..<16, with: [0, 0, 0, 0])
        let actual = CRC32C.checksum(zeroed)
        guard stored == actual else {
            throw DatasetError(.headerCorrupted, "\(file): header checksum mismatch (stored CRC32C \(hex32(stored)), computed \(hex32(actual))) — the header is corrupted; \(advice)")
        }
        let n = Int(r.u32(36)), t = Int(r.u32(16)), s = Int(r.u32(32))
        let ids = (0..<n).map { Int(Int64(bitPattern: r.u64(64 + 8 * $0))) }
        let base = 64 + 8 * n
        let states = (0..<(n * t * s)).map { Double(bitPattern: r.u64(base + 8 * $0)) }
        if let bad = states.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(.headerCorrupted, "\(file): state value \(bad) (trajectory \(ids[bad / max(t * s, 1)])) is not finite — \(advice)")
        }
        var seen = Set<Int>()
        for id in ids where !seen.insert(id).inserted {
            throw DatasetError(.inconsistent, "\(file): trajectory id \(id) appears twice in one shard — \(advice)")
        }
        var header = ShardHeader(frameCount: t, height: Int(r.u32(20)), width: Int(r.u32(24)), channels: Int(r.u32(28)),
                                 stateDimension: s, shardIndex: Int(r.u32(40)),
                                 compressionLevel: Int(Int32(bitPattern: r.u32(44))), trajectoryIDs: ids, states: states)
        if let kind = ShardPayload(rawValue: r.u16(48)), kind == .latents {
            header.payload = .latents
            header.dt = Double(bitPattern: r.u64(56))
            let extras = base + 8 * n * t * s
            header.firstFrames = (0..<n).map { Int(r.u32(extras + 4 * $0)) }
            header.splits = try (0..<n).map { i in
                let code = r.u32(extras + 4 * n + 4 * i)
                guard let split = ShardSplitCode.split(code) else {
                    throw DatasetError(.headerCorrupted, "\(file): trajectory \(ids[i]) has split code \(code) (0 train, 1 validation, 2 test, 0xffffffff by frames) — \(advice)")
                }
                return split
            }
        }
        return header
    }
}
