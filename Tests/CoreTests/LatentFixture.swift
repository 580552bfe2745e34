import Foundation
@testable import Core

/// A latent directory written with the production writer from seeded random latents: `count`
/// latents × d per trajectory, trajectories split 4:1:1 train/validation/test in id order.
struct LatentFixture {
    let directory: String
    let trajectories: [LatentTrajectory]
    let manifest: LatentManifest

    init(_ directory: String, trajectories n: Int = 12, count: Int = 9, dimension d: Int = 3, stateNames: [String] = ["theta", "omega"],
         perShard: Int = 5, seed: UInt64 = 11, dt: Double = 1.0 / 30) throws {
        var rng = RNG(seed: seed)
        let s = stateNames.count
        let ids = (0..<n).map { 100 + 7 * $0 }   // not 0…n−1, so id and position cannot be confused
        let train = Array(ids.prefix(n * 4 / 6)), validation = Array(ids[(n * 4 / 6)..<(n * 5 / 6)]), test = Array(ids[(n * 5 / 6)...])
        let splits = DatasetSplits(train: train, validation: validation, test: test)
        let splitOf = LatentDataset.splitMap(splits)
        let all = ids.map { id in
            // Values spread over many binades (and negative zero) so a lossy round trip would show.
            LatentTrajectory(id: id, split: splitOf[id], count: count, dimension: d,
                             latents: (0..<(count * d)).map { k in k == 1 ? -0.0 : Float(rng.normal() * pow(10, Double(k % 7) - 3)) },
                             firstFrame: 0, dt: dt, stateDimension: s, states: (0..<(count * s)).map { _ in rng.normal() })
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try LatentShardWriter(directory: directory, dimension: d, latentsPerTrajectory: count, stateDimension: s, dt: dt)
        var entries: [Manifest.Shard] = []
        for (index, start) in stride(from: 0, to: n, by: perShard).enumerated() {
            entries.append(try writer.writeShard(index: index, trajectories: Array(all[start..<min(n, start + perShard)])))
        }
        var model = ModelConfig.preset(.small)
        model.latent = d
        manifest = LatentManifest(
            autoencoder: .init(checkpoint: "/nowhere/checkpoint.safetensors", checkpointSHA256: String(repeating: "ab", count: 32), model: model),
            dataset: .init(path: "/nowhere/data", fingerprint: String(repeating: "cd", count: 32), system: "pendulum", frameCount: count + 1),
            latentDimension: d, latentsPerTrajectory: count, dt: dt, stateNames: stateNames, splits: splits,
            compressionLevel: writer.compressionLevel, shards: entries)
        try manifest.write(directory: directory)
        self.directory = directory
        self.trajectories = all
    }

    var shardPaths: [String] { manifest.shards.map { directory + "/" + $0.file } }
}
