import Foundation

/// `latents.json` of a latent directory (written by `cpae-mpi encode`): which autoencoder made the
/// latents from which dataset, their shape and time step, the splits, and the shard files. The one
/// record type the writer, `LatentDataset` and the tests share.
public struct LatentManifest: Codable, Equatable, Sendable {
    public static let fileName = "latents.json"
    public static let currentVersion = 1
    public static let formatName = "cpae-mpi latent trajectories"
    static let maxBytes = 256 << 20

    /// The trained autoencoder the latents come from.
    public struct Source: Codable, Equatable, Sendable {
        /// The checkpoint file as `encode` opened it.
        public var checkpoint: String
        /// SHA-256 (hex) of the whole checkpoint file.
        public var checkpointSHA256: String
        /// The checkpoint's own `ModelConfig` (architecture, latent d, …).
        public var model: ModelConfig
        /// The run directory's `config.json` path, when the checkpoint came from one.
        public var runDirectory: String?

        public init(checkpoint: String, checkpointSHA256: String, model: ModelConfig, runDirectory: String? = nil) {
            self.checkpoint = checkpoint; self.checkpointSHA256 = checkpointSHA256; self.model = model
            self.runDirectory = runDirectory
        }
    }

    /// The frame dataset that was encoded.
    public struct DataSource: Codable, Equatable, Sendable {
        public var path: String
        /// `DatasetReader.fingerprint` (hex), as in a run's `config.json`.
        public var fingerprint: String
        public var system: String
        /// Frames per trajectory T (latents per trajectory are T − 1).
        public var frameCount: Int

        public init(path: String, fingerprint: String, system: String, frameCount: Int) {
            self.path = path; self.fingerprint = fingerprint; self.system = system; self.frameCount = frameCount
        }
    }

    public var format: String = LatentManifest.formatName
    public var formatVersion: Int = LatentManifest.currentVersion
    public var autoencoder: Source
    public var dataset: DataSource
    /// d, values per latent.
    public var latentDimension: Int
    /// Latents per trajectory (frames − 1: every overlapping pair (t, t+1)).
    public var latentsPerTrajectory: Int
    /// Seconds between consecutive latents: the dataset's frame interval.
    public var dt: Double
    /// Names of the S ground-truth state components stored with each latent (empty for real video).
    public var stateNames: [String]
    /// The dataset's splits, unchanged (ids, or frame ranges for a time split).
    public var splits: DatasetSplits
    /// zstd level of the shards.
    public var compressionLevel: Int
    /// Shard files, in shard-index order; same entry record as a frame dataset's manifest.
    public var shards: [Manifest.Shard]

    public init(autoencoder: Source, dataset: DataSource, latentDimension: Int, latentsPerTrajectory: Int, dt: Double,
                stateNames: [String], splits: DatasetSplits, compressionLevel: Int, shards: [Manifest.Shard]) {
        self.autoencoder = autoencoder; self.dataset = dataset; self.latentDimension = latentDimension
        self.latentsPerTrajectory = latentsPerTrajectory; self.dt = dt; self.stateNames = stateNames
        self.splits = splits; self.compressionLevel = compressionLevel; self.shards = shards
    }

    public var trajectoryCount: Int { shards.reduce(0) { $0 + $1.trajectoryCount } }

    /// Pretty JSON with sorted keys: equal manifests are equal bytes (1 rank and N ranks write the same file).
    public func encoded() throws -> [UInt8] { try JSONCoding.encode(self, pretty: true) + [0x0A] }

    /// Writes `directory/latents.json` atomically (temp, fsync, rename): written last, so a latent
    /// directory without it is an unfinished `encode`.
    public func write(directory: String) throws {
        try AtomicFile.write(try encoded(), to: directory + "/" + Self.fileName)
    }

    /// Reads and structurally checks `directory/latents.json`.
    public static func load(directory: String) throws -> LatentManifest {
        let path = directory + "/" + fileName
        let file: FileReader
        do { file = try FileReader(path: path, ifDamaged: latentAdvice) } catch let e as FileError where e.isNotFound {
            throw DatasetError(.manifest, "\(path) not found — \(directory) is not a finished latent directory (make one with `cpae-mpi encode --run RUN_DIR`; shards without latents.json are an interrupted encode)")
        }
        guard file.size <= maxBytes else {
            throw DatasetError(.manifest, "\(path) is \(file.size) bytes, more than any latent manifest should be (\(maxBytes)) — it is corrupted; \(latentAdvice)")
        }
        let m: LatentManifest
        do { m = try JSONCoding.decode(LatentManifest.self, from: try file.read(count: file.size, at: 0), file: path) } catch let e as JSONDecodingError {
            throw DatasetError(.manifest, "\(e) — not a valid latent manifest; \(latentAdvice)")
        }
        guard m.format == formatName else {
            throw DatasetError(.manifest, "\(path): format is \"\(m.format)\", expected \"\(formatName)\" — \(latentAdvice)")
        }
        guard m.formatVersion == currentVersion else {
            throw DatasetError(.unsupportedVersion, "\(path): latent manifest version \(m.formatVersion), this build reads \(currentVersion) — re-run `cpae-mpi encode` with this cpae-mpi")
        }
        var problems: [String] = []
        if !(1...ShardFormat.maxSide).contains(m.latentDimension) { problems.append("latentDimension \(m.latentDimension) (1…\(ShardFormat.maxSide))") }
        if !(1...ShardFormat.maxFrames).contains(m.latentsPerTrajectory) { problems.append("latentsPerTrajectory \(m.latentsPerTrajectory) (1…\(ShardFormat.maxFrames))") }
        if !(m.dt.isFinite && m.dt > 0) { problems.append("dt \(m.dt) (finite, > 0)") }
        if m.stateNames.count > ShardFormat.maxStateDimension { problems.append("\(m.stateNames.count) state names (≤ \(ShardFormat.maxStateDimension))") }
        if m.latentDimension != m.autoencoder.model.latent { problems.append("latentDimension \(m.latentDimension) but autoencoder.model.latent \(m.autoencoder.model.latent)") }
        for s in m.shards where s.trajectoryCount != s.trajectoryIDs.count || s.bytes < 0 || s.file.contains("/")
            || !s.file.hasSuffix("." + ShardFormat.fileExtension) {
            problems.append("shard entry \"\(s.file)\" (count \(s.trajectoryCount) vs \(s.trajectoryIDs.count) ids, \(s.bytes) bytes)")
        }
        guard problems.isEmpty else {
            throw DatasetError(.manifest, "\(path): implausible fields: \(problems.joined(separator: ", ")) — \(latentAdvice)")
        }
        return m
    }

    /// File name of latent shard `index` (the index of the frame shard it encodes).
    public static func shardName(_ index: Int) -> String {
        "latents-\(String(format: "%05d", index)).\(ShardFormat.fileExtension)"
    }
}

/// The advice appended to every "this latent file is damaged" error.
let latentAdvice = "re-run `cpae-mpi encode --run RUN_DIR --overwrite` to rebuild the latents, or restore them from a copy"
