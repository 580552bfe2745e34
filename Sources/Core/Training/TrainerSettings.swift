/// What to do when a loss term or the averaged gradient is NaN or Inf.
public enum NonFinitePolicy: String, Codable, Sendable, CaseIterable {
    /// Stop the job, naming the step and the term (the default: never a silently poisoned model).
    case stop
    /// Skip the optimizer step on every rank and go on.
    case skip
}

/// The optimisation side of a run (the model side is `ModelConfig`). Saved in the run directory.
public struct TrainerSettings: Codable, Sendable, Equatable {
    /// Samples per optimizer step summed over all ranks.
    public var globalBatch: Int
    /// Total optimizer steps of the run.
    public var steps: Int
    /// Learning-rate schedule in its command-line form: `constant:LR`, `exp:LR0:FINAL:STEPS`,
    /// `step:LR0:GAMMA:M1,M2,…` (see `LearningRateSchedule`).
    public var schedule: String
    public var weightDecay: Float
    /// Checkpoint every this many steps (0: only at the end).
    public var checkpointEvery: Int
    public var nonFinite: NonFinitePolicy
    public var seed: UInt64
    /// Synchronized BatchNorm (statistics over the global batch) rather than per-rank statistics.
    public var syncBatchNorm: Bool
    /// Steps over which the reference objective's latent weight λ ramps linearly from 0 to its
    /// configured value (0: λ from the first step, as the reference). The latent and prediction terms
    /// reward collapsed latents (z_Y = Φ(z_X) is easiest when z is constant), so from some
    /// initialisations and batch orders the model settles at the mean image before the
    /// reconstruction has taught the encoder anything; a warm-up lets it learn the frames first
    /// (measured in docs/method.md §Training).
    public var latentWarmupSteps: Int
    /// Steps before the ramp during which λ is 0 (pure reconstruction with the penalty).
    public var latentHoldSteps: Int
    /// Batches over which BatchNorm's running statistics are re-estimated at the final weights
    /// before the last checkpoint (`Autoencoder.recalibrateBatchNorm`); nil or 0 keeps the moving
    /// averages, as the reference does. Optional so that run configurations written before it
    /// existed still read.
    public var batchNormRecalibration: Int?
    /// The deterministic mode (docs/distributed.md §Deterministic): every cross-sample sum is exact,
    /// so a run's checkpoints are the same bits at any rank count and thread count for the same
    /// global batch and seed. Optional so that run configurations written before it still read.
    public var deterministic: Bool?
    public var isDeterministic: Bool { deterministic ?? false }
    /// The deterministic mode's unit: consecutive samples of a global batch whose gradient is computed
    /// together (batched GEMMs) and summed exactly with the other units'. 1 (nil) promises the same
    /// bytes at every rank count up to the global batch; u promises it at every rank count whose local
    /// batch is a multiple of u, and costs less (fewer, larger calls and folds).
    public var deterministicUnit: Int?

    public init(globalBatch: Int, steps: Int, schedule: String = "constant:1e-3",
                weightDecay: Float = 0, checkpointEvery: Int = 0, nonFinite: NonFinitePolicy = .stop,
                seed: UInt64 = 0, syncBatchNorm: Bool = true, latentHoldSteps: Int = 0, latentWarmupSteps: Int = 0,
                batchNormRecalibration: Int? = nil, deterministic: Bool = false, deterministicUnit: Int? = nil) {
        self.globalBatch = globalBatch; self.steps = steps; self.schedule = schedule
        self.weightDecay = weightDecay
        self.checkpointEvery = checkpointEvery; self.nonFinite = nonFinite; self.seed = seed
        self.syncBatchNorm = syncBatchNorm
        self.latentWarmupSteps = latentWarmupSteps
        self.latentHoldSteps = latentHoldSteps
        self.batchNormRecalibration = batchNormRecalibration
        self.deterministic = deterministic
        self.deterministicUnit = deterministicUnit
    }

    /// The factor on λ at a step (0-based count of steps taken before it).
    public func latentWeightFactor(atStep step: Int) -> Float {
        if step < latentHoldSteps { return 0 }
        guard latentWarmupSteps > 0 else { return 1 }
        return min(1, Float(step - latentHoldSteps + 1) / Float(latentWarmupSteps))
    }

    /// Phase 2's deterministic unit when none is given: the global batch cut into as many equal units
    /// as a power of two up to 64 allows (20,000 pairs: 32 units of 625). One pair per unit would
    /// run every matrix product as a matrix–vector product (measured: a deterministic step ~9× a
    /// default one at 11,136 pairs); units of hundreds of pairs cost a few percent
    /// (docs/distributed.md §Deterministic). The same bytes hold at every power-of-two rank count up
    /// to the number of units.
    public static func defaultLatentUnit(globalBatch: Int) -> Int {
        var units = 1
        while units < 64 && globalBatch % (2 * units) == 0 { units *= 2 }
        return globalBatch / units
    }

    /// Per-rank batch; a global batch that does not split evenly is an error, not a silent change.
    public func localBatch(replicas: Int) throws -> Int {
        guard globalBatch > 0 else { throw TrainingError.invalidSetting("--global-batch must be positive (got \(globalBatch))") }
        guard globalBatch % replicas == 0 else {
            throw TrainingError.invalidSetting("--global-batch \(globalBatch) does not divide evenly over \(replicas) ranks; choose a multiple of \(replicas)")
        }
        let local = globalBatch / replicas
        return local
    }

    public func learningRateSchedule() throws -> LearningRateSchedule {
        do { return try LearningRateSchedule(parsing: schedule) } catch {
            throw TrainingError.invalidSetting("--lr-schedule: \(error)")
        }
    }

    public func validate(replicas: Int) throws {
        _ = try localBatch(replicas: replicas)
        _ = try learningRateSchedule()
        guard steps > 0 else { throw TrainingError.invalidSetting("the run needs at least one step (got \(steps))") }
        guard checkpointEvery >= 0 else { throw TrainingError.invalidSetting("--checkpoint-every must be ≥ 0 (got \(checkpointEvery))") }
        guard latentHoldSteps >= 0 else { throw TrainingError.invalidSetting("--latent-hold must be ≥ 0 (got \(latentHoldSteps))") }
        guard latentWarmupSteps >= 0 else { throw TrainingError.invalidSetting("--latent-warmup must be ≥ 0 (got \(latentWarmupSteps))") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw TrainingError.invalidSetting("--weight-decay must be ≥ 0 (got \(weightDecay))") }
        if let unit = deterministicUnit {
            guard isDeterministic else { throw TrainingError.invalidSetting("--deterministic-unit needs --deterministic") }
            let local = try localBatch(replicas: replicas)
            guard unit >= 1, local % unit == 0 else {
                throw TrainingError.invalidSetting("--deterministic-unit \(unit) must be ≥ 1 and divide the local batch \(local) (global batch \(globalBatch) over \(replicas) ranks); the same bytes need every rank to hold whole units")
            }
        }
    }
}

public enum TrainingError: Error, CustomStringConvertible {
    case invalidSetting(String)
    case nonFinite(step: Int, what: String)

    public var description: String {
        switch self {
        case .invalidSetting(let s): return s
        case .nonFinite(let step, let what):
            return "step \(step): non-finite \(what); lower the learning rate, check the data, or pass --on-nan skip"
        }
    }
}

import Foundation
