/// The `train` section: phase 1 (`cpae-mpi train-ae`) for every autoencoder of the pipeline — the
/// model preset and its overrides, and the optimisation. The architecture and the penalty are not
/// here: they are what tells the pipeline's models apart (`models`, `ModelVariant`).
public struct AutoencoderTrainingConfig: ConfigSection {
    public var preset: ModelConfig.Preset = .small
    public var latent: Int?
    public var objective: Objective?
    public var penaltyWeight: Float?
    public var kernel: Int?
    public var widths: [Int]?
    public var convAlgorithm = ConvAlgorithm.auto
    public var globalBatch = 128
    public var epochs: Int? = 10
    public var steps: Int?
    public var seed: UInt64 = 0
    public var lrSchedule = "constant:1e-3"
    public var latentWarmup: Int?
    public var latentHold: Int?
    public var bnRecalibration: Int?
    public var weightDecay: Float = 0
    public var checkpointEvery = 100
    public var onNaN: NonFinitePolicy = .stop
    public var perRankBatchnorm = false
    public var deterministic = false
    public var deterministicUnit: Int?
    public var cacheTrajectories = 128
    public var progressSeconds = 5.0
    public var collectiveTimeout = 600.0

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.choice("preset", \.preset, "model preset: paper (3×128×256, K=12), small (1×32×64, K=8), circle (1×48×48)"),
         .value("latent", \.latent, "latent dimension d (null: the preset's)"),
         .choice("objective", \.objective, "reference (recon + 2·latent + prediction) or reconstruction (null: the preset's)"),
         .value("penalty-weight", \.penaltyWeight, "weight λ_J of the penalty of the penalized models (null: the preset's)"),
         .value("kernel", \.kernel, "large-kernel size K of the CpAE layers (null: the preset's)"),
         .value("widths", \.widths, "output channels of encoder stacks 1–3 (null: the preset's)"),
         .choice("conv-algorithm", \.convAlgorithm, "convolution algorithm: auto (per layer, measured rule), direct, winograd or shifted; all exact, they round differently"),
         .value("global-batch", \.globalBatch, "samples per optimizer step over all ranks (a multiple of the rank count)"),
         .value("epochs", \.epochs, "epochs of the training split (or give steps and set this to null)"),
         .value("steps", \.steps, "optimizer steps instead of epochs"),
         .value("seed", \.seed, "seed of the initialisation and of the per-epoch shuffles"),
         .value("lr-schedule", \.lrSchedule, "constant:LR, exp:LR0:FINAL:STEPS or step:LR0:GAMMA:M1,M2,…"),
         .value("latent-warmup", \.latentWarmup, "steps of the latent weight's ramp (null: one epoch)"),
         .value("latent-hold", \.latentHold, "steps of pure reconstruction before the ramp (null: two epochs)"),
         .value("bn-recalibration", \.bnRecalibration, "batches over which BatchNorm's statistics are re-estimated at the final weights (null: one epoch, at most 100; 0: the moving averages, as the reference)"),
         .value("weight-decay", \.weightDecay, "Adam's L2 weight decay"),
         .value("checkpoint-every", \.checkpointEvery, "checkpoint every N steps, where an interrupted run resumes (0: only at the end)"),
         .choice("on-nan", \.onNaN, "when a loss or gradient is NaN/Inf: stop or skip the step on every rank"),
         .value("per-rank-batchnorm", \.perRankBatchnorm, "BatchNorm statistics per rank instead of over the global batch"),
         .value("deterministic", \.deterministic, "exact cross-sample sums: checkpoints bit-identical at any rank and thread count (docs/distributed.md §Deterministic)"),
         .value("deterministic-unit", \.deterministicUnit, "with deterministic: samples computed together and summed as one (null: 1); the same bytes at every rank count whose local batch is a multiple of it"),
         .value("cache-trajectories", \.cacheTrajectories, "decoded trajectories each rank keeps in memory"),
         .value("progress-seconds", \.progressSeconds, "seconds between progress lines on rank 0"),
         .value("collective-timeout", \.collectiveTimeout, "end the job when a collective waits longer than this many seconds (0: never)")]
    }

    public func problems() -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        found += ConfigProblem.runLength(epochs: epochs, steps: steps)
        if preset == .circle { found.append(.init("preset", "the circle model trains on single frames, not pairs: set data.system to circle (the `circle` preset) for the circle ablation and its `circle` section")) }
        if let l = latent, l < 1 { found.append(.init("latent", "must be ≥ 1 (got \(l))")) }
        if let w = penaltyWeight, !(w.isFinite && w >= 0) { found.append(.init("penalty-weight", "must be ≥ 0 (got \(w))")) }
        if let k = kernel, k < 2 || k % 2 != 0 { found.append(.init("kernel", "must be even and ≥ 2 (got \(k))")) }
        if let w = widths, w.count != 3 || w.contains(where: { $0 < 1 }) { found.append(.init("widths", "must be three positive channel counts (got \(w))")) }
        if globalBatch < 1 { found.append(.init("global-batch", "must be ≥ 1 (got \(globalBatch))")) }
        if let unit = deterministicUnit, unit < 1 || !deterministic || globalBatch % unit != 0 {
            found.append(.init("deterministic-unit", "needs deterministic: true, must be ≥ 1 and divide global-batch \(globalBatch) (got \(unit))"))
        }
        do { _ = try LearningRateSchedule(parsing: lrSchedule) } catch { found.append(.init("lr-schedule", "\(error)")) }
        if let h = latentHold, h < 0 { found.append(.init("latent-hold", "must be ≥ 0 (got \(h))")) }
        if let w = latentWarmup, w < 0 { found.append(.init("latent-warmup", "must be ≥ 0 (got \(w))")) }
        if let b = bnRecalibration, b < 0 { found.append(.init("bn-recalibration", "must be ≥ 0 (got \(b))")) }
        if !(weightDecay.isFinite && weightDecay >= 0) { found.append(.init("weight-decay", "must be ≥ 0 (got \(weightDecay))")) }
        if checkpointEvery < 0 { found.append(.init("checkpoint-every", "must be ≥ 0 (got \(checkpointEvery))")) }
        if cacheTrajectories < 1 { found.append(.init("cache-trajectories", "must be ≥ 1 (got \(cacheTrajectories))")) }
        if !(progressSeconds.isFinite && progressSeconds > 0) { found.append(.init("progress-seconds", "must be positive (got \(progressSeconds))")) }
        if !(collectiveTimeout.isFinite && collectiveTimeout >= 0) { found.append(.init("collective-timeout", "must be ≥ 0 (got \(collectiveTimeout))")) }
        return found
    }
}
