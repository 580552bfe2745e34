import Foundation

/// A validated dataset directory. `init` reads manifest.json and every shard's header and seek table
/// (a few KB per shard), and cross-checks them — shard present, no unlisted shard, byte size, shape,
/// trajectory ids, splits — before anything is decompressed. It does NOT hash the shards: SHA-256 of
/// every byte costs ~seconds per GB, too slow for every training start; `verify()` (and
/// `cpae-mpi inspect --verify`) does that plus a full decompression.
///
/// Immutable after init and thread-safe: `trajectory(id:)` may be called from any thread.
public final class DatasetReader {
    public let directory: String
    public let manifest: Manifest
    public let shards: [ShardReader]
    /// id → (shard, position within shard)
    private let location: [Int: (shard: Int, index: Int)]

    public var description: DatasetDescription { manifest.description }
    public var splits: DatasetSplits { manifest.splits }
    /// Every trajectory id, in shard order.
    public var trajectoryIDs: [Int] { manifest.shards.flatMap(\.trajectoryIDs) }
    public var bytesPerTrajectory: Int { description.frameCount * description.height * description.width * description.channels }
    public var compressedBytes: Int64 { shards.reduce(0) { $0 + $1.fileSize } }

    public init(directory: String) throws {
        self.directory = directory
        let m = try Manifest.load(directory: directory)
        manifest = m
        let d = m.description
        let listed = Set(m.shards.map(\.file))
        guard listed.count == m.shards.count else {
            throw DatasetError(.manifest, "\(directory)/manifest.json lists a shard file twice — \(regenerateAdvice)")
        }
        let onDisk = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix("." + ShardFormat.fileExtension) }
        if let extra = onDisk.sorted().first(where: { !listed.contains($0) }) {
            throw DatasetError(.extraShard, "\(directory)/\(extra) is a shard not listed in manifest.json — a stale file from another write? Remove it, or \(regenerateAdvice)")
        }
        var readers: [ShardReader] = []
        var location: [Int: (Int, Int)] = [:]
        for (s, entry) in m.shards.enumerated() {
            let path = directory + "/" + entry.file
            guard FileManager.default.fileExists(atPath: path) else {
                throw DatasetError(.missingShard, "\(path) is listed in manifest.json but missing (\(entry.trajectoryCount) trajectories: ids \(Self.idSummary(entry.trajectoryIDs))) — restore it or \(regenerateAdvice)")
            }
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            guard size == entry.bytes else {
                throw DatasetError(size < entry.bytes ? .truncated : .sizeMismatch,
                                   "\(path) is \(size) bytes, manifest.json says \(entry.bytes) — \(size < entry.bytes ? "truncated (interrupted copy?)" : "modified or appended to"); \(regenerateAdvice)")
            }
            let r = try ShardReader(path: path)
            let h = r.header
            guard h.payload == .frames else {
                throw DatasetError(.inconsistent, "\(path) is a \(h.payload.name) shard, not a frame shard — \(directory) mixes `encode` output into a dataset; remove the file or \(regenerateAdvice)")
            }
            guard h.frameCount == d.frameCount, h.height == d.height, h.width == d.width, h.channels == d.channels,
                  h.stateDimension == d.stateNames.count else {
                throw DatasetError(.inconsistent, "\(path): shard holds \(h.frameCount) frames × \(h.height)×\(h.width)×\(h.channels) with \(h.stateDimension) states, manifest.json describes \(d.frameCount) × \(d.height)×\(d.width)×\(d.channels) with \(d.stateNames.count) — \(regenerateAdvice)")
            }
            guard h.trajectoryIDs == entry.trajectoryIDs else {
                throw DatasetError(.inconsistent, "\(path): shard holds trajectories \(Self.idSummary(h.trajectoryIDs)), manifest.json lists \(Self.idSummary(entry.trajectoryIDs)) — shards swapped or renamed? \(regenerateAdvice)")
            }
            for (i, id) in h.trajectoryIDs.enumerated() {
                if let previous = location[id] {
                    throw DatasetError(.inconsistent, "\(path): trajectory id \(id) also appears in \(m.shards[previous.0].file) — \(regenerateAdvice)")
                }
                location[id] = (s, i)
            }
            readers.append(r)
        }
        for (name, ids) in [("train", m.splits.train), ("validation", m.splits.validation), ("test", m.splits.test)] {
            if let bad = ids.first(where: { location[$0] == nil }) {
                throw DatasetError(.manifest, "\(directory)/manifest.json: \(name) split lists trajectory \(bad), which no shard holds — \(regenerateAdvice)")
            }
        }
        for (name, range) in [("trainFrames", m.splits.trainFrames), ("validationFrames", m.splits.validationFrames), ("testFrames", m.splits.testFrames)] {
            if let r = range, r.count != 2 || r[0] < 0 || r[0] >= r[1] || r[1] > d.frameCount {
                throw DatasetError(.manifest, "\(directory)/manifest.json: \(name) \(r) is not a [start, end) range within 0…\(d.frameCount) — \(regenerateAdvice)")
            }
        }
        shards = readers
        self.location = location.mapValues { (shard: $0.0, index: $0.1) }
    }

    public func contains(id: Int) -> Bool { location[id] != nil }

    /// SHA-256 over the manifest's content and every shard's size and header CRC: equal on two ranks
    /// iff they opened the same dataset. Distributed start-up compares it across ranks (allreduce /
    /// broadcast) and aborts everywhere before the first training collective if any rank differs.
    public var fingerprint: [UInt8] {
        var h = SHA256()
        if let m = try? manifest.encoded() { h.update(m) }
        for r in shards {
            var w = ByteWriter()
            w.u64(UInt64(r.fileSize))
            w.u32(r.headerCRC)
            h.update(w.data)
        }
        return h.finalize()
    }

    /// Decompresses one trajectory (only its own zstd frame is read).
    public func trajectory(id: Int, context: DecompressionContext? = nil) throws -> FrameSequence {
        guard let loc = location[id] else {
            throw DatasetError(.invalidArgument, "\(directory): no trajectory with id \(id) (the dataset holds \(location.count) trajectories: \(Self.idSummary(trajectoryIDs)))")
        }
        return try shards[loc.shard].trajectory(at: loc.index, context: context)
    }

    public struct VerifyReport: Sendable {
        public var shards: Int
        public var trajectories: Int
        public var compressedBytes: Int64
        public var rawBytes: Int64
    }

    /// Full check: SHA-256 of every shard against the manifest, then every trajectory decompressed
    /// (zstd verifies each frame's content checksum). Reads every byte: seconds per GB.
    public func verify(progress: ((Int, Int) -> Void)? = nil) throws -> VerifyReport {
        let ctx = DecompressionContext()
        var trajectories = 0
        for s in manifest.shards.indices {
            try verifyDigest(shard: s, context: ctx)
            for i in 0..<shards[s].trajectoryCount {
                _ = try shards[s].trajectory(at: i, context: ctx)
                trajectories += 1
            }
            progress?(s + 1, shards.count)
        }
        return VerifyReport(shards: shards.count, trajectories: trajectories, compressedBytes: compressedBytes,
                            rawBytes: Int64(trajectories) * Int64(bytesPerTrajectory))
    }

    /// SHA-256 of the given shards (positions in the manifest) against the manifest, without
    /// decompressing: reads each file once at the digest's speed (GB/s), cheap enough to run before
    /// every training job. Returns the bytes hashed.
    @discardableResult
    public func verifyDigests(shards selection: some Sequence<Int>) throws -> Int64 {
        let ctx = DecompressionContext()
        var bytes: Int64 = 0
        for s in selection {
            try verifyDigest(shard: s, context: ctx)
            bytes += manifest.shards[s].bytes
        }
        return bytes
    }

    private func verifyDigest(shard s: Int, context ctx: DecompressionContext) throws {
        let entry = manifest.shards[s]
        let path = directory + "/" + entry.file
        let digest = try SHA256.hexDigest(ofFile: path, ifDamaged: regenerateAdvice)
        guard digest == entry.sha256.lowercased() else {
            // Name the damaged trajectory when zstd can find it.
            var damaged = ""
            for i in 0..<shards[s].trajectoryCount {
                do { _ = try shards[s].trajectory(at: i, context: ctx) } catch let e as DatasetError {
                    damaged = " First damaged trajectory: \(e.message)"
                    break
                }
            }
            throw DatasetError(.checksumMismatch, "\(path): SHA-256 is \(digest), manifest.json says \(entry.sha256) — the shard was corrupted or replaced; \(regenerateAdvice).\(damaged)")
        }
    }

    static func idSummary(_ ids: [Int]) -> String {
        ids.count <= 6 ? "\(ids)" : "[\(ids[0]), \(ids[1]), \(ids[2]), …, \(ids[ids.count - 1])] (\(ids.count))"
    }
}
