/// The `evaluate` section: which trajectories `cpae-mpi evaluate` scores (docs/method.md §Evaluation).
public struct EvaluateConfig: ConfigSection {
    public var split: SplitName = .test
    public var trajectories = 0

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.choice("split", \.split, "split to evaluate: train, validation or test"),
         .value("trajectories", \.trajectories, "evaluate at most this many trajectories of the split (0: all)")]
    }

    public func problems() -> [ConfigProblem] {
        trajectories < 0 ? [.init("trajectories", "must be ≥ 0 (got \(trajectories))")] : []
    }
}
