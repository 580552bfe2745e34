/// The `encode` section: how `cpae-mpi encode` writes each autoencoder's latent trajectories.
public struct EncodeConfig: ConfigSection {
    public var batch = 128
    public var compressionLevel = 3

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.value("batch", \.batch, "frame pairs per forward pass (bounds memory)"),
         .value("compression-level", \.compressionLevel, "zstd level of the latent shards (1–19)")]
    }

    public func problems() -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        if batch < 1 { found.append(.init("batch", "must be ≥ 1 (got \(batch))")) }
        if !(1...19).contains(compressionLevel) { found.append(.init("compression-level", "must be in 1...19 (got \(compressionLevel))")) }
        return found
    }
}
