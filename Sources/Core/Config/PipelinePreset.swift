/// Starting configurations of `cpae-mpi run` (and `cpae-mpi config --preset`), for any simulated
/// system. Sizes and schedules: docs/method.md §Training and §Latent dynamics.
public enum PipelinePreset: String, CaseIterable, Sendable {
    /// The built-in default: a small damped-pendulum set (240 × 60 frames, 32×32 grey), the small
    /// models for 5 epochs, 300 latent-model steps — the whole comparison in minutes on 2 cores.
    case `default`
    /// The same data and models trained long enough to judge them: 30 epochs, 3,000 ODE steps.
    case small
    /// The reference's full sizes and schedules, for clusters: the system's own data (1,200 × 60
    /// frames, 128×128 RGB for the pendulums), the paper model (3×128×256, K = 12), batch 512 for 3
    /// epochs, then 500,000 ODE steps of 20,000 pairs.
    case paper
    /// The circular-motion ablation at the reference's own size: the circle model with J × 10,
    /// without a penalty and with L2, 4 initialisations each, 20,000 iterations, then the latent MLP
    /// field (docs/method.md §Circular motion). Always the circle system.
    case circle

    public func configuration(system: PhysicalSystem = .pendulum) -> Configuration {
        var c = Configuration()
        c.data.system = self == .circle ? .circle : system
        switch self {
        case .circle:
            c.models = [.cpae, .ae, .l2]
        case .default, .small:
            c.data.trajectories = 240; c.data.frames = 60; c.data.size = 32; c.data.channels = 1
            c.train.preset = .small
            c.train.globalBatch = 128
            c.train.epochs = self == .default ? 5 : 30
            c.ode.steps = self == .default ? 300 : 3000
            c.ode.evaluateEvery = self == .default ? 50 : 100
            c.ode.checkpointEvery = 100
        case .paper:
            c.train.preset = .paper
            c.train.globalBatch = 512
            c.train.epochs = 3
            c.train.checkpointEvery = 50
            c.ode.steps = 500_000   // global batch null: 20,000 pairs (every pair of a smaller set)
            c.ode.evaluateEvery = 1000
            c.ode.checkpointEvery = 5000
        }
        return c
    }
}
