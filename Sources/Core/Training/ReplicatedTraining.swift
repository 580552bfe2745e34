/// Phase-1 training on k in-process replicas: every replica builds the same model (same config and
/// seed), trains it through `AutoencoderTrainer` on its own `BatchSource` shard, and meets the others
/// in the collectives of `InProcessReplicas` — the code path of `train-ae` under `mpirun -np k`,
/// in one process, so rank equivalence is checked in seconds.
public struct ReplicatedTraining {
    /// What one replica ends with.
    public struct Replica {
        public let reports: [StepReport]
        public let model: Autoencoder
        public let optimizer: Adam
    }

    public var config: ModelConfig
    public var seed: UInt64
    public var settings: TrainerSettings
    /// Called on every replica after its local backward (tests inject failures here).
    public var afterBackward: (@Sendable (_ rank: Int, _ step: Int, _ model: Autoencoder) throws -> Void)?

    public init(config: ModelConfig, seed: UInt64, settings: TrainerSettings) {
        self.config = config; self.seed = seed; self.settings = settings
    }

    /// Runs `settings.steps` steps on `replicas` threads; `source(rank, replicas)` gives each its shard.
    public func run(replicas: Int, source: @escaping @Sendable (_ rank: Int, _ replicas: Int) throws -> BatchSource)
        -> [Result<Replica, Error>] {
        let (config, seed, settings, afterBackward) = (self.config, self.seed, self.settings, self.afterBackward)
        return InProcessReplicas(size: replicas).run { rank, group in
            let model = try Autoencoder(config: config, seed: seed)
            let trainer = try AutoencoderTrainer(model: model, group: group, source: try source(rank, replicas), settings: settings)
            trainer.afterBackward = afterBackward.map { hook in { step in try hook(rank, step, model) } }
            _ = trainer.synchronizeFromRoot(position: trainer.source.position)
            var reports: [StepReport] = []
            while trainer.stepsTaken < settings.steps { reports.append(try trainer.step()) }
            return Replica(reports: reports, model: model, optimizer: trainer.optimizer)
        }
    }
}
