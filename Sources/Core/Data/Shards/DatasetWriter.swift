import CZstd
import Foundation

/// Writes a dataset directory: shard files of zstd-compressed trajectories plus manifest.json.
/// Trajectories are compressed as they are appended; a shard is written (atomically: temp file,
/// fsync, rename) once it holds `trajectoriesPerShard` of them, so memory stays at one shard's
/// compressed bytes. The manifest is written last, so a directory without one is an unfinished write.
///
/// Several ranks write one dataset with one writer each for a `DatasetPart`: one rank first calls
/// `prepare(directory:)`, the ranks meet, each appends exactly the trajectories of its shards (in id
/// order, shard after shard) and calls `finishPart()`; one rank then gathers every part's shards and
/// calls `writeManifest`. Without a part, `finish(splits:)` does the last two steps.
public final class DatasetWriter {
    public let directory: String
    public let description: DatasetDescription
    public let trajectoriesPerShard: Int
    public let compressionLevel: Int32
    public let part: DatasetPart

    private let shardWriter: ShardFileWriter
    private var pendingFrames: [[UInt8]] = []
    private var pendingIDs: [Int] = []
    private var pendingStates: [Double] = []
    private var shards: [DatasetPart.WrittenShard] = []
    private var nextShardIndex: Int
    private var seenIDs = Set<Int>()
    private var finished = false

    /// With a `part` other than `.whole`, the directory must have been prepared (`prepare(directory:)`)
    /// by one rank before any writer of the dataset is created.
    public init(directory: String, description: DatasetDescription, trajectoriesPerShard: Int = 64,
                compressionLevel: Int32 = 3, part: DatasetPart = .whole) throws {
        self.directory = directory
        self.description = description
        self.trajectoriesPerShard = trajectoriesPerShard
        self.compressionLevel = compressionLevel
        self.part = part
        nextShardIndex = part.rank
        let d = description
        guard (1...ShardFormat.maxFrames).contains(d.frameCount), (1...ShardFormat.maxSide).contains(d.height),
              (1...ShardFormat.maxSide).contains(d.width), (1...ShardFormat.maxChannels).contains(d.channels),
              d.frameCount * d.height * d.width * d.channels <= ShardFormat.maxTrajectoryBytes,
              d.stateNames.count <= ShardFormat.maxStateDimension else {
            throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): unsupported shape \(d.frameCount) frames × \(d.channels)×\(d.height)×\(d.width) with \(d.stateNames.count) states")
        }
        guard trajectoriesPerShard >= 1, trajectoriesPerShard <= ShardFormat.maxTrajectories else {
            throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): trajectoriesPerShard must be in 1…\(ShardFormat.maxTrajectories), got \(trajectoriesPerShard)")
        }
        shardWriter = try ShardFileWriter(compressionLevel: compressionLevel, owner: "DatasetWriter(\(directory))")
        // The other parts' shards may already be there: only a whole writer checks for a clash itself.
        if part.isWhole { try Self.prepare(directory: directory) }
    }

    /// Creates `directory` (and its parents) and checks that it holds no dataset yet.
    public static func prepare(directory: String) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw FileError(path: directory, problem: "cannot create the dataset directory (\(error.localizedDescription))",
                            advice: "Check the path, its permissions and the free disk space")
        }
        let existing = (try? fm.contentsOfDirectory(atPath: directory)) ?? []
        if let clash = existing.first(where: { $0 == Manifest.fileName || $0.hasSuffix("." + ShardFormat.fileExtension) }) {
            throw DatasetError(.invalidArgument, "\(directory) already holds a dataset (\(clash)); remove the directory or choose another one — shards are never overwritten in place")
        }
    }

    /// Appends one trajectory (its shape must match the description).
    public func append(_ sequence: FrameSequence) throws {
        let d = description
        guard !finished else { throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): append after finish") }
        guard sequence.frameCount == d.frameCount, sequence.height == d.height, sequence.width == d.width,
              sequence.channels == d.channels, sequence.stateDimension == d.stateNames.count else {
            throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): trajectory \(sequence.id) is \(sequence.frameCount) frames × \(sequence.height)×\(sequence.width)×\(sequence.channels) with \(sequence.stateDimension) states; the dataset is \(d.frameCount) × \(d.height)×\(d.width)×\(d.channels) with \(d.stateNames.count) states (\(d.stateNames))")
        }
        guard sequence.states.allSatisfy({ $0.isFinite }) else {
            throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): trajectory \(sequence.id) has non-finite states")
        }
        if !part.isWhole {
            // A part's shard must hold exactly the ids a single writer would put there.
            let expected = nextShardIndex * trajectoriesPerShard + pendingIDs.count
            guard sequence.id == expected else {
                throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): rank \(part.rank) of \(part.ranks) got trajectory \(sequence.id) where shard \(nextShardIndex) needs trajectory \(expected)")
            }
        }
        guard seenIDs.insert(sequence.id).inserted else {
            throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): trajectory id \(sequence.id) appended twice")
        }
        let compressed = try sequence.frames.withUnsafeBytes {
            try shardWriter.compress($0, what: "DatasetWriter(\(directory)): trajectory \(sequence.id)")
        }
        pendingFrames.append(compressed)
        pendingIDs.append(sequence.id)
        pendingStates += sequence.states
        if pendingIDs.count == trajectoriesPerShard { try flushShard() }
    }

    /// Flushes the last shard and writes manifest.json atomically (a whole writer).
    public func finish(splits: DatasetSplits) throws {
        precondition(part.isWhole, "a part's writer ends with finishPart(); one rank then calls writeManifest")
        try Self.writeManifest(directory: directory, description: description, splits: splits,
                               compressionLevel: compressionLevel, shards: try finishPart())
    }

    /// Flushes the last shard and returns the shards this writer wrote.
    public func finishPart() throws -> [DatasetPart.WrittenShard] {
        guard !finished else { throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): finish called twice") }
        if !pendingIDs.isEmpty { try flushShard() }
        finished = true
        return shards
    }

    /// Writes manifest.json atomically for `shards`, the shards every part wrote (in any order;
    /// together they must be shards 0, 1, … with no gap), once all of them are on disk.
    public static func writeManifest(directory: String, description: DatasetDescription, splits: DatasetSplits,
                                     compressionLevel: Int32, shards: [DatasetPart.WrittenShard]) throws {
        let ordered = shards.sorted { $0.index < $1.index }
        guard ordered.map(\.index) == Array(0..<ordered.count) else {
            throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): the parts wrote shards \(ordered.map(\.index)), expected 0..<\(ordered.count) — every rank must write its share")
        }
        let ids = Set(ordered.flatMap(\.entry.trajectoryIDs))
        for (name, list) in [("train", splits.train), ("validation", splits.validation), ("test", splits.test)] {
            if let bad = list.first(where: { !ids.contains($0) }) {
                throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): \(name) split lists trajectory \(bad), which was never appended")
            }
        }
        for (name, range) in [("trainFrames", splits.trainFrames), ("validationFrames", splits.validationFrames), ("testFrames", splits.testFrames)] {
            if let r = range, r.count != 2 || r[0] < 0 || r[0] >= r[1] || r[1] > description.frameCount {
                throw DatasetError(.invalidArgument, "DatasetWriter(\(directory)): \(name) \(r) is not a [start, end) range within 0…\(description.frameCount)")
            }
        }
        let manifest = Manifest(formatVersion: Manifest.currentVersion, description: description, splits: splits,
                                compressionLevel: Int(compressionLevel), shards: ordered.map(\.entry))
        try AtomicFile.write(try manifest.encoded(), to: directory + "/" + Manifest.fileName)
    }

    private func flushShard() throws {
        let index = nextShardIndex
        let header = ShardHeader(frameCount: description.frameCount, height: description.height, width: description.width,
                                 channels: description.channels, stateDimension: description.stateNames.count,
                                 shardIndex: index, compressionLevel: Int(compressionLevel),
                                 trajectoryIDs: pendingIDs, states: pendingStates)
        let name = "\(Self.safeName(description.system))-\(String(format: "%05d", index)).\(ShardFormat.fileExtension)"
        shards.append(DatasetPart.WrittenShard(
            index: index, entry: try shardWriter.write(header: header, frames: pendingFrames, directory: directory, name: name)))
        nextShardIndex += part.ranks
        pendingFrames.removeAll(); pendingIDs.removeAll(); pendingStates.removeAll()
    }

    static func safeName(_ s: String) -> String {
        let cleaned = String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" })
        return cleaned.isEmpty ? "shard" : cleaned
    }
}

func zstdCheck(_ code: Int) throws {
    if ZSTD_isError(code) != 0 {
        throw DatasetError(.compressor, "zstd: \(String(cString: ZSTD_getErrorName(code)))")
    }
}
