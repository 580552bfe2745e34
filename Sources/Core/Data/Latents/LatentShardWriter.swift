/// Writes latent shards: the frame-shard container (`ShardFileWriter`) with payload kind `.latents`
/// — each trajectory one zstd frame of count×d little-endian Float32, its id, split, first frame and
/// states in the CRC-protected header, the time step in the fixed header. Each file is written
/// atomically; the manifest (`LatentManifest.write`) comes last, after every shard exists.
public final class LatentShardWriter {
    public let directory: String
    public let dimension: Int
    public let latentsPerTrajectory: Int
    public let stateDimension: Int
    public let dt: Double
    private let shardWriter: ShardFileWriter

    public var compressionLevel: Int { Int(shardWriter.compressionLevel) }

    public init(directory: String, dimension: Int, latentsPerTrajectory: Int, stateDimension: Int, dt: Double,
                compressionLevel: Int32 = 3) throws {
        let owner = "LatentShardWriter(\(directory))"
        guard (1...ShardFormat.maxSide).contains(dimension), (1...ShardFormat.maxFrames).contains(latentsPerTrajectory),
              latentsPerTrajectory * dimension * 4 <= ShardFormat.maxTrajectoryBytes,
              (0...ShardFormat.maxStateDimension).contains(stateDimension) else {
            throw DatasetError(.invalidArgument, "\(owner): unsupported shape \(latentsPerTrajectory) latents × d = \(dimension) with \(stateDimension) states")
        }
        guard dt.isFinite && dt > 0 else { throw DatasetError(.invalidArgument, "\(owner): time step dt must be finite and > 0, got \(dt)") }
        self.directory = directory; self.dimension = dimension; self.latentsPerTrajectory = latentsPerTrajectory
        self.stateDimension = stateDimension; self.dt = dt
        shardWriter = try ShardFileWriter(compressionLevel: compressionLevel, owner: owner)
    }

    /// Writes `LatentManifest.shardName(index)` holding `trajectories` (in this order) and returns its
    /// manifest entry. Every trajectory must have this writer's shape, finite latents and states.
    public func writeShard(index: Int, trajectories: [LatentTrajectory]) throws -> Manifest.Shard {
        let owner = "LatentShardWriter(\(directory)), shard \(index)"
        guard index >= 0, index <= Int(UInt32.max), trajectories.count <= ShardFormat.maxTrajectories else {
            throw DatasetError(.invalidArgument, "\(owner): shard index \(index) / \(trajectories.count) trajectories out of range")
        }
        var seen = Set<Int>()
        var frames: [[UInt8]] = []
        var states: [Double] = []
        for z in trajectories {
            guard z.count == latentsPerTrajectory, z.dimension == dimension, z.stateDimension == stateDimension else {
                throw DatasetError(.invalidArgument, "\(owner): trajectory \(z.id) is \(z.count) latents × d = \(z.dimension) with \(z.stateDimension) states; this writer takes \(latentsPerTrajectory) × \(dimension) with \(stateDimension)")
            }
            guard seen.insert(z.id).inserted else { throw DatasetError(.invalidArgument, "\(owner): trajectory id \(z.id) given twice") }
            guard z.firstFrame >= 0, z.firstFrame <= Int(UInt32.max) else {
                throw DatasetError(.invalidArgument, "\(owner): trajectory \(z.id) first frame \(z.firstFrame) out of range")
            }
            if let bad = z.latents.firstIndex(where: { !$0.isFinite }) {
                throw DatasetError(.invalidArgument, "\(owner): trajectory \(z.id), latent \(bad / dimension) component \(bad % dimension) is \(z.latents[bad]) — the autoencoder produced a non-finite latent; check the checkpoint (a diverged run?)")
            }
            guard z.states.allSatisfy({ $0.isFinite }) else {
                throw DatasetError(.invalidArgument, "\(owner): trajectory \(z.id) has non-finite states")
            }
            // Little-endian on disk whatever the host: the bit patterns, byte-swapped only on big-endian hosts.
            let raw = z.latents.map { $0.bitPattern.littleEndian }
            frames.append(try raw.withUnsafeBytes { try shardWriter.compress($0, what: "\(owner): trajectory \(z.id)") })
            states += z.states
        }
        var header = ShardHeader(frameCount: latentsPerTrajectory, height: 1, width: dimension, channels: 1,
                                 stateDimension: stateDimension, shardIndex: index, compressionLevel: compressionLevel,
                                 trajectoryIDs: trajectories.map(\.id), states: states)
        header.payload = .latents
        header.dt = dt
        header.firstFrames = trajectories.map(\.firstFrame)
        header.splits = trajectories.map(\.split)
        return try shardWriter.write(header: header, frames: frames, directory: directory, name: LatentManifest.shardName(index))
    }
}
