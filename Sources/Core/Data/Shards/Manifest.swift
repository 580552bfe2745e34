import Foundation

/// `manifest.json` of a dataset directory: what the dataset is and which shard files make it up.
public struct Manifest: Codable, Equatable {
    public static let fileName = "manifest.json"
    public static let currentVersion = 1
    static let maxBytes = 256 << 20

    public struct Shard: Codable, Equatable, Sendable {
        public var file: String
        public var bytes: Int64
        public var sha256: String
        public var trajectoryCount: Int
        public var trajectoryIDs: [Int]
    }

    public var format: String = "cpae-mpi frame-sequence shards"
    public var formatVersion: Int
    public var description: DatasetDescription
    public var splits: DatasetSplits
    public var compressionLevel: Int
    public var shards: [Shard]

    public var trajectoryCount: Int { shards.reduce(0) { $0 + $1.trajectoryCount } }

    /// Pretty-printed with sorted keys: the dataset fingerprint hashes these bytes.
    func encoded() throws -> [UInt8] { try JSONCoding.encode(self, pretty: true) + [0x0A] }

    /// Reads and structurally checks `directory/manifest.json`.
    public static func load(directory: String) throws -> Manifest {
        let path = directory + "/" + fileName
        let file: FileReader
        do { file = try FileReader(path: path, ifDamaged: regenerateAdvice) } catch let e as FileError where e.isNotFound {
            throw DatasetError(.manifest, "\(path) not found — \(directory) is not a cpae dataset directory (create one with `cpae-mpi generate` or `cpae-mpi ingest`)")
        }
        guard file.size <= maxBytes else {
            throw DatasetError(.manifest, "\(path) is \(file.size) bytes, more than any manifest should be (\(maxBytes)) — it is corrupted; \(regenerateAdvice)")
        }
        let bytes = try file.read(count: file.size, at: 0)
        let m: Manifest
        do { m = try JSONCoding.decode(Manifest.self, from: bytes, file: path) } catch let e as JSONDecodingError {
            throw DatasetError(.manifest, "\(e) — not a valid manifest; \(regenerateAdvice)")
        }
        guard m.formatVersion == currentVersion else {
            throw DatasetError(.unsupportedVersion, "\(path): manifest format version \(m.formatVersion), this build reads \(currentVersion) — rebuild the dataset with this cpae-mpi")
        }
        let d = m.description
        guard (1...ShardFormat.maxFrames).contains(d.frameCount), (1...ShardFormat.maxSide).contains(d.height),
              (1...ShardFormat.maxSide).contains(d.width), (1...ShardFormat.maxChannels).contains(d.channels) else {
            throw DatasetError(.manifest, "\(path): implausible description \(d.frameCount) frames of \(d.channels)×\(d.height)×\(d.width) — \(regenerateAdvice)")
        }
        for s in m.shards {
            guard s.trajectoryCount == s.trajectoryIDs.count, s.bytes >= 0,
                  !s.file.contains("/"), s.file.hasSuffix("." + ShardFormat.fileExtension) else {
                throw DatasetError(.manifest, "\(path): shard entry \"\(s.file)\" is malformed (count \(s.trajectoryCount) vs \(s.trajectoryIDs.count) ids, \(s.bytes) bytes) — \(regenerateAdvice)")
            }
        }
        return m
    }
}
