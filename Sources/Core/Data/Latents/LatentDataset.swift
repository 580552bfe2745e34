import Foundation

/// A validated latent directory (`cpae-mpi encode` output), held in memory: latents are small
/// (1,200 trajectories × 59 × d = 8 floats is 2.3 MB), so `init` decodes every shard once and the
/// ODE trainer and the evaluator read arrays. `init` cross-checks latents.json against every shard
/// — present, no unlisted shard, byte size, payload kind, shape, dt, ids, splits — and zstd checks
/// every frame it decodes; with `verifyDigests: true` it also hashes every shard against the
/// manifest's SHA-256 first. Immutable and thread-safe after init.
public final class LatentDataset: @unchecked Sendable {
    public let directory: String
    public let manifest: LatentManifest
    /// Every trajectory, in shard order.
    public let trajectories: [LatentTrajectory]
    private let location: [Int: Int]

    /// d.
    public var dimension: Int { manifest.latentDimension }
    /// Latents per trajectory.
    public var latentsPerTrajectory: Int { manifest.latentsPerTrajectory }
    /// Seconds between consecutive latents (the dataset's frame interval).
    public var dt: Double { manifest.dt }
    public var stateNames: [String] { manifest.stateNames }
    public var splits: DatasetSplits { manifest.splits }

    public init(directory: String, verifyDigests: Bool = false) throws {
        self.directory = directory
        let m = try LatentManifest.load(directory: directory)
        manifest = m
        let listed = Set(m.shards.map(\.file))
        guard listed.count == m.shards.count else {
            throw DatasetError(.manifest, "\(directory)/\(LatentManifest.fileName) lists a shard file twice — \(latentAdvice)")
        }
        let onDisk = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix("." + ShardFormat.fileExtension) }
        if let extra = onDisk.sorted().first(where: { !listed.contains($0) }) {
            throw DatasetError(.extraShard, "\(directory)/\(extra) is a shard not listed in \(LatentManifest.fileName) — a stale file from another encode? Remove it, or \(latentAdvice)")
        }
        let splitOf = Self.splitMap(m.splits)
        let context = DecompressionContext()
        var all: [LatentTrajectory] = []
        var location: [Int: Int] = [:]
        for entry in m.shards {
            let path = directory + "/" + entry.file
            guard FileManager.default.fileExists(atPath: path) else {
                throw DatasetError(.missingShard, "\(path) is listed in \(LatentManifest.fileName) but missing (\(entry.trajectoryCount) trajectories) — restore it or \(latentAdvice)")
            }
            let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? -1
            guard size == entry.bytes else {
                throw DatasetError(size < entry.bytes ? .truncated : .sizeMismatch,
                                   "\(path) is \(size) bytes, \(LatentManifest.fileName) says \(entry.bytes) — \(size < entry.bytes ? "truncated (interrupted copy?)" : "modified or appended to"); \(latentAdvice)")
            }
            if verifyDigests {
                let digest = try SHA256.hexDigest(ofFile: path, ifDamaged: latentAdvice)
                guard digest == entry.sha256.lowercased() else {
                    throw DatasetError(.checksumMismatch, "\(path): SHA-256 is \(digest), \(LatentManifest.fileName) says \(entry.sha256) — the shard was corrupted or replaced; \(latentAdvice)")
                }
            }
            let reader = try ShardReader(path: path, ifDamaged: latentAdvice)
            let h = reader.header
            guard h.payload == .latents else {
                throw DatasetError(.inconsistent, "\(path) is a \(h.payload.name) shard, not a latent shard — a frame dataset's shard in a latent directory? Remove it, or \(latentAdvice)")
            }
            guard h.frameCount == m.latentsPerTrajectory, h.width == m.latentDimension, h.stateDimension == m.stateNames.count,
                  h.dt == m.dt else {
                throw DatasetError(.inconsistent, "\(path): shard holds \(h.frameCount) latents × d = \(h.width) with \(h.stateDimension) states at dt \(h.dt), \(LatentManifest.fileName) describes \(m.latentsPerTrajectory) × \(m.latentDimension) with \(m.stateNames.count) at dt \(m.dt) — \(latentAdvice)")
            }
            guard h.trajectoryIDs == entry.trajectoryIDs else {
                throw DatasetError(.inconsistent, "\(path): shard holds trajectories \(DatasetReader.idSummary(h.trajectoryIDs)), \(LatentManifest.fileName) lists \(DatasetReader.idSummary(entry.trajectoryIDs)) — shards swapped or renamed? \(latentAdvice)")
            }
            let s = h.stateDimension, t = h.frameCount, d = h.width
            for i in 0..<reader.trajectoryCount {
                let id = h.trajectoryIDs[i]
                if location[id] != nil {
                    throw DatasetError(.inconsistent, "\(path): trajectory id \(id) also appears in an earlier shard — \(latentAdvice)")
                }
                guard h.splits[i] == splitOf[id] else {
                    throw DatasetError(.inconsistent, "\(path): trajectory \(id) is recorded as split \(h.splits[i]?.rawValue ?? "by frames"), \(LatentManifest.fileName) puts it in \(splitOf[id]?.rawValue ?? "no split list") — \(latentAdvice)")
                }
                let raw = try reader.rawTrajectory(at: i, context: context)
                let latents = raw.withUnsafeBytes { bytes in
                    (0..<(t * d)).map { Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
                }
                if let bad = latents.firstIndex(where: { !$0.isFinite }) {
                    throw DatasetError(.frameCorrupted, "\(path), trajectory \(id): latent \(bad / d) component \(bad % d) is \(latents[bad]) — \(latentAdvice)")
                }
                location[id] = all.count
                all.append(LatentTrajectory(id: id, split: h.splits[i], count: t, dimension: d, latents: latents,
                                            firstFrame: h.firstFrames[i], dt: h.dt, stateDimension: s,
                                            states: Array(h.states[(i * t * s)..<((i + 1) * t * s)])))
            }
        }
        for (name, ids) in [("train", m.splits.train), ("validation", m.splits.validation), ("test", m.splits.test)] {
            if let bad = ids.first(where: { location[$0] == nil }) {
                throw DatasetError(.manifest, "\(directory)/\(LatentManifest.fileName): \(name) split lists trajectory \(bad), which no shard holds — \(latentAdvice)")
            }
        }
        trajectories = all
        self.location = location
    }

    /// The trajectory with this id, or nil.
    public func trajectory(id: Int) -> LatentTrajectory? { location[id].map { trajectories[$0] } }

    /// The trajectories of `split`, in the split's id order. For a dataset split by frame ranges
    /// (circle) every trajectory, since each split is a time range of all of them (`frameRange(of:)`).
    public func trajectories(_ split: SplitName) -> [LatentTrajectory] {
        let ids: [Int]
        switch split {
        case .train: ids = splits.train
        case .validation: ids = splits.validation
        case .test: ids = splits.test
        }
        if ids.isEmpty && frameRange(of: split) != nil { return trajectories }
        return ids.compactMap { trajectory(id: $0) }
    }

    /// The split's frame range [start, end) when the dataset splits by time, else nil.
    public func frameRange(of split: SplitName) -> Range<Int>? {
        let r: [Int]?
        switch split {
        case .train: r = splits.trainFrames
        case .validation: r = splits.validationFrames
        case .test: r = splits.testFrames
        }
        return r.map { $0[0]..<$0[1] }
    }

    /// Each listed trajectory's split (the first list naming it).
    static func splitMap(_ s: DatasetSplits) -> [Int: SplitName] {
        var map: [Int: SplitName] = [:]
        for (split, ids) in [(SplitName.test, s.test), (.validation, s.validation), (.train, s.train)] {
            for id in ids { map[id] = split }   // reverse order: the first list wins
        }
        return map
    }
}
