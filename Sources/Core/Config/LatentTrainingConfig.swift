/// The `ode` section of a configuration file: every knob of phase 2 (`cpae-mpi train-ode`), with
/// the reference's values as defaults (docs/method.md §Latent dynamics). Keys are the flags' names.
public struct LatentTrainingConfig: ConfigSection {
    public var model: LatentModelConfig.Kind = .mlp
    /// The MLP field's hidden layers, or H's width for hnn (its first entry).
    public var widths: [Int] = [256, 256]
    public var sympnetLayers = 3
    public var sympnetSublayers = 2
    public var frameStep: Float = 0.01
    public var method: FixedStepMethod = .midpoint
    public var substeps = 2
    public var rolloutSteps = 1
    /// nil: the reference's 20,000 pairs, or every train pair when there are fewer.
    public var globalBatch: Int?
    /// Exactly one of the two lengths.
    public var epochs: Int?
    public var steps: Int?
    public var seed: UInt64 = 0
    /// nil: exp:0.01:0.001:<steps>, the reference's decay over the run.
    public var lrSchedule: String?
    public var weightDecay: Float = 0
    public var checkpointEvery = 0
    public var evaluateEvery = 100
    public var select: CheckpointSelection = .validationLoss
    public var onNaN: NonFinitePolicy = .stop
    public var progressSeconds = 10.0
    public var collectiveTimeout = 600.0
    public var deterministic = false
    public var deterministicUnit: Int?

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.choice("model", \.model, "latent model: mlp (Neural ODE), hnn (Hamiltonian field) or sympnet (LA-SympNet map)"),
         .value("widths", \.widths, "hidden widths: the MLP field's layers, or H's width for hnn"),
         .value("sympnet-layers", \.sympnetLayers, "LA-SympNet: linear/activation module pairs"),
         .value("sympnet-sublayers", \.sympnetSublayers, "LA-SympNet: shear sublayers per linear module"),
         .value("frame-step", \.frameStep, "time units per frame h (the reference: 0.01)"),
         .choice("method", \.method, "fixed-step training integrator: midpoint (the reference) or rk4"),
         .value("substeps", \.substeps, "integrator substeps per frame (the reference: 2)"),
         .value("rollout-steps", \.rolloutSteps, "targets per start: 1 = one-step loss (the reference), k > 1 = k-frame rollout loss"),
         .value("global-batch", \.globalBatch, "pairs per step over all ranks (null: 20,000, or every train pair if fewer)"),
         .value("epochs", \.epochs, "train for this many epochs of the train pairs (or give steps)"),
         .value("steps", \.steps, "train for this many optimizer steps (the reference: 500,000)"),
         .value("seed", \.seed, "seed of the initialisation and of the per-epoch shuffles"),
         .value("lr-schedule", \.lrSchedule, "constant:LR, exp:LR0:FINAL:STEPS or step:LR0:GAMMA:M1,… (null: exp:0.01:0.001:<steps>)"),
         .value("weight-decay", \.weightDecay, "Adam's L2 weight decay"),
         .value("checkpoint-every", \.checkpointEvery, "write checkpoint.safetensors every N steps (0: only at the end)"),
         .value("evaluate-every", \.evaluateEvery, "validation loss and model selection every N steps (and at the last)"),
         .choice("select", \.select, "which model to keep: validation-loss, or train-loss (the reference's rule)"),
         .choice("on-nan", \.onNaN, "when the loss or gradient is NaN/Inf: stop, or skip the step on every rank"),
         .value("progress-seconds", \.progressSeconds, "seconds between progress lines on rank 0"),
         .value("collective-timeout", \.collectiveTimeout, "end the job when a collective waits longer than this many seconds (0: never)"),
         .value("deterministic", \.deterministic, "exact cross-sample sums: checkpoints bit-identical at any rank and thread count (docs/distributed.md §Deterministic)"),
         .value("deterministic-unit", \.deterministicUnit, "with deterministic: pairs computed together and summed as one (null: the global batch over its largest power-of-two factor up to 64); the same bytes at every rank count whose local batch is a multiple of it")]
    }

    public func problems() -> [ConfigProblem] { problems(requiringLength: true) }

    /// The checks; `requiringLength: false` accepts a section without steps or epochs — a file may
    /// leave the run's length to train-ode's --steps/--epochs (`cpae-mpi config --check`).
    public func problems(requiringLength: Bool) -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        func require(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) {
            if !ok { found.append(ConfigProblem(key, problem())) }
        }
        found += ConfigProblem.runLength(epochs: epochs, steps: steps, required: requiringLength)
        if let globalBatch { require(globalBatch >= 1, "global-batch", "must be ≥ 1 (got \(globalBatch))") }
        if let unit = deterministicUnit {
            require(unit >= 1 && deterministic, "deterministic-unit", "needs deterministic: true and must be ≥ 1 (got \(unit))")
        }
        require(!widths.isEmpty && widths.allSatisfy { $0 >= 1 }, "widths", "must be one or more positive integers, e.g. [256, 256] (got \(widths))")
        require(sympnetLayers >= 1, "sympnet-layers", "must be ≥ 1 (got \(sympnetLayers))")
        require(sympnetSublayers >= 1, "sympnet-sublayers", "must be ≥ 1 (got \(sympnetSublayers))")
        require(frameStep.isFinite && frameStep > 0, "frame-step", "must be a positive number (got \(frameStep))")
        require(substeps >= 1, "substeps", "must be ≥ 1 (got \(substeps))")
        require(rolloutSteps >= 1, "rollout-steps", "must be ≥ 1 (got \(rolloutSteps))")
        if let lrSchedule {
            do { _ = try LearningRateSchedule(parsing: lrSchedule) } catch { found.append(ConfigProblem("lr-schedule", "\(error)")) }
        }
        require(weightDecay.isFinite && weightDecay >= 0, "weight-decay", "must be ≥ 0 (got \(weightDecay))")
        require(checkpointEvery >= 0, "checkpoint-every", "must be ≥ 0 (got \(checkpointEvery))")
        require(evaluateEvery >= 1, "evaluate-every", "must be ≥ 1 (got \(evaluateEvery))")
        require(progressSeconds.isFinite && progressSeconds > 0, "progress-seconds", "must be positive (got \(progressSeconds))")
        require(collectiveTimeout.isFinite && collectiveTimeout >= 0, "collective-timeout", "must be ≥ 0 (got \(collectiveTimeout))")
        return found
    }

    /// The model these settings describe, for latents of dimension `dimension`.
    public func modelConfig(dimension: Int) -> LatentModelConfig {
        LatentModelConfig(kind: model, dimension: dimension, hiddenWidths: widths, sympnetLayers: sympnetLayers,
                          sympnetSublayers: sympnetSublayers, frameStep: frameStep, method: method,
                          substeps: substeps, rolloutSteps: rolloutSteps)
    }
}
