/// The simulated datasets, by their dataset names, each with the reference's defaults.
public enum PhysicalSystem: String, CaseIterable, Sendable {
    case pendulum
    case elasticPendulum = "elastic_pendulum"
    case doublePendulum = "double_pendulum"
    case circle

    /// The simulator with default parameters (docs/method.md §Data; see each type for its choices).
    public var simulator: any PhysicalSimulator {
        switch self {
        case .pendulum: return DampedPendulum()
        case .elasticPendulum: return ElasticDoublePendulum()
        case .doublePendulum: return RigidDoublePendulum()
        case .circle: return CircularMotion()
        }
    }

    /// A generator with this system's defaults for every option left nil.
    public func generator(trajectories: Int? = nil, frames: Int? = nil, size: Int? = nil, channels: Int? = nil,
                          seed: UInt64 = 0, samplesPerAxis: Int = SceneRasterizer.defaultSamplesPerAxis) throws -> DatasetGenerator {
        let s = simulator
        return try DatasetGenerator(simulator: s, trajectories: trajectories ?? s.defaultTrajectories,
                                    frames: frames ?? s.defaultFrames, size: size ?? s.defaultSize,
                                    channels: channels ?? s.defaultChannels, seed: seed, samplesPerAxis: samplesPerAxis)
    }

    public static var allNames: String { PhysicalSystem.allCases.map(\.rawValue).joined(separator: ", ") }

    /// Generates a dataset with this system's defaults for every option left nil, streaming each
    /// trajectory (in id order) to `consume`.
    public func generate(trajectories: Int? = nil, frames: Int? = nil, size: Int? = nil, channels: Int? = nil,
                         seed: UInt64 = 0, progress: ((Int, Int) -> Void)? = nil,
                         _ consume: (FrameSequence) throws -> Void) throws {
        try generator(trajectories: trajectories, frames: frames, size: size, channels: channels, seed: seed)
            .generate(progress: progress, consume)
    }
}
