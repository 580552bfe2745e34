import Foundation

/// What one optimizer step did, as rank 0 logs it. Loss terms are averages over the global batch.
public struct StepReport: Sendable {
    public var step: Int              // 1-based count of steps taken
    public var epoch: Int
    public var terms: LossTerms
    public var learningRate: Float
    public var seconds: Double        // wall time of the whole step on this rank
    public var allreduceSeconds: Double
    public var waitSeconds: Double
    public var samples: Int           // global batch
    public var skipped: Bool
}

/// The data-parallel training loop of phase 1. One code path for every rank count: local forward
/// and backward → one allreduce of the flat gradient buffer (plus the loss terms) → the penalty
/// gradient added identically on every rank → the same Adam step everywhere.
public final class AutoencoderTrainer {
    public let model: Autoencoder
    public let group: ReplicaGroup
    public let source: BatchSource
    public let settings: TrainerSettings
    public let optimizer: Adam
    public let schedule: LearningRateSchedule
    private var exchange: GradientExchange
    /// Optimizer steps taken so far (restored on resume).
    public var stepsTaken = 0
    /// Benchmarks only: a barrier before the allreduce separates waiting for the slowest rank
    /// (`StepReport.waitSeconds`) from communication (`allreduceSeconds`).
    public var measureWaiting = false
    /// Runs on this rank after the local backward of each step, before the allreduce.
    public var afterBackward: ((_ step: Int) throws -> Void)?

    public init(model: Autoencoder, group: ReplicaGroup, source: BatchSource, settings: TrainerSettings) throws {
        try settings.validate(replicas: group.replicas)
        if settings.isDeterministic && !settings.syncBatchNorm {
            throw TrainingError.invalidSetting("--deterministic needs synchronized BatchNorm (per-rank statistics depend on how the batch is split); drop --per-rank-batchnorm")
        }
        schedule = try settings.learningRateSchedule()
        self.model = model
        self.group = group
        self.source = source
        self.settings = settings
        optimizer = Adam(store: model.store, weightDecay: Double(settings.weightDecay))
        exchange = GradientExchange(group: group, store: model.store, termNames: ["reconstruction", "latent", "prediction"])
        if settings.syncBatchNorm { model.reducer = group }
        if settings.isDeterministic {
            model.store.exact = ExactGradients(parameterCount: model.store.parameterCount, unit: settings.deterministicUnit ?? 1)
        }
    }

    /// Makes every replica identical to rank 0: parameters, BatchNorm statistics, optimizer state,
    /// step counters and the sampler position. Returns rank 0's `position` on every rank.
    public func synchronizeFromRoot(position: LoaderPosition) -> LoaderPosition {
        let state = exchange.synchronizeFromRoot(optimizer: optimizer, state: RunState(
            optimizerStep: optimizer.step, stepsTaken: stepsTaken, epoch: position.epoch, batchInEpoch: position.step))
        stepsTaken = state.stepsTaken
        return LoaderPosition(epoch: state.epoch, step: state.batchInEpoch)
    }

    /// Re-estimates BatchNorm's running statistics at the current weights over the next `batches`
    /// batches of the source (`Autoencoder.recalibrateBatchNorm`), then puts the source back where
    /// it was, so the sampler position a checkpoint records is the same with or without it.
    public func recalibrateBatchNorm(batches: Int) throws {
        let position = source.position
        try model.recalibrateBatchNorm(count: batches) { try source.nextBatch().x }
        try source.seek(to: position)
    }

    /// One optimizer step. Throws `TrainingError.nonFinite` (on every rank alike) under the stop policy.
    /// ONE allreduce (`GradientExchange`) carries the gradient and the data terms; the penalty is
    /// computed after it, identically on every rank.
    public func step() throws -> StepReport {
        let started = Stopwatch()
        let epoch = source.position.epoch
        let batch = try source.nextBatch()
        model.store.zeroGradients()
        var terms = model.accumulateDataGradients(x: batch.x, y: model.config.objective == .reference ? batch.y : nil,
                                                  latentWeightFactor: settings.latentWeightFactor(atStep: stepsTaken))
        try afterBackward?(stepsTaken + 1)

        exchange.measureWaiting = measureWaiting
        let values = [terms.reconstruction, terms.latent, terms.prediction]
        let outcome = model.store.exact.map { exchange.reduce(globalTerms: values, exact: $0) } ?? exchange.reduce(terms: values)
        terms.reconstruction = outcome.terms[0]; terms.latent = outcome.terms[1]; terms.prediction = outcome.terms[2]
        terms.penalty = model.accumulatePenalty()

        var skipped = false
        if outcome.nonFiniteReplicas > 0 || !terms.allFinite {
            // Every rank knows the verdict, so every rank joins the collective that names a culprit.
            let what = exchange.describeNonFinite(outcome, terms: terms.named)
            if settings.nonFinite == .stop { throw TrainingError.nonFinite(step: stepsTaken + 1, what: what) }
            skipped = true
        }
        let lr = schedule.rate(atStep: stepsTaken)
        if !skipped {
            optimizer.update(parameters: model.store.values, gradients: model.store.gradients, learningRate: lr,
                             threads: model.computeBudget.threads)
        }
        stepsTaken += 1
        return StepReport(step: stepsTaken, epoch: epoch, terms: terms, learningRate: lr, seconds: started.seconds,
                          allreduceSeconds: outcome.allreduceSeconds, waitSeconds: outcome.waitSeconds,
                          samples: settings.globalBatch, skipped: skipped)
    }
}
