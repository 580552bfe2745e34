/// The `data` section: which dataset the pipeline trains on, and how to simulate it when it is not
/// there yet (the flags of `cpae-mpi generate`; nulls take the system's defaults, docs/method.md §Data).
public struct DataConfig: ConfigSection {
    /// A dataset directory to use (from `generate` or `ingest`); null: RUN/data, simulated if absent.
    public var dir: String?
    public var system: PhysicalSystem = .pendulum
    public var trajectories: Int?
    public var frames: Int?
    public var size: Int?
    public var channels: Int?
    public var seed: UInt64 = 0
    public var shardSize = 64
    public var samples = 8

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.value("dir", \.dir, "dataset directory to use; null: RUN/data, simulated from the keys below if it is not there", isFlag: false),
         .choice("system", \.system, "physical system to simulate: \(PhysicalSystem.allNames)"),
         .value("trajectories", \.trajectories, "number of trajectories (null: the system's)"),
         .value("frames", \.frames, "frames per trajectory (null: the system's)"),
         .value("size", \.size, "frame width and height in pixels (null: the system's)"),
         .value("channels", \.channels, "1 (grey) or 3 (RGB) (null: the system's)"),
         .value("seed", \.seed, "simulation seed; fixes every trajectory and the split"),
         .value("shard-size", \.shardSize, "trajectories per shard file"),
         .value("samples", \.samples, "supersampling per pixel axis on shape edges (1: no anti-aliasing)")]
    }

    public func problems() -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        if let t = trajectories, t < 1 { found.append(.init("trajectories", "must be ≥ 1 (got \(t))")) }
        if let f = frames, f < 3 { found.append(.init("frames", "must be ≥ 3 for a pair and its successor (got \(f))")) }
        if let s = size, !(4...4096).contains(s) { found.append(.init("size", "must be in 4...4096 (got \(s))")) }
        if let c = channels, c != 1 && c != 3 { found.append(.init("channels", "must be 1 or 3 (got \(c))")) }
        if shardSize < 1 { found.append(.init("shard-size", "must be ≥ 1 (got \(shardSize))")) }
        if !(1...32).contains(samples) { found.append(.init("samples", "must be in 1...32 (got \(samples))")) }
        if let dir, dir.isEmpty { found.append(.init("dir", "must name a directory, or be null")) }
        return found
    }
}
