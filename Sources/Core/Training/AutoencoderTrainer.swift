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
    /// Optimizer steps taken so far (restored on resume).
    public var stepsTaken = 0
    /// Benchmarks only: a barrier before the allreduce separates waiting for the slowest rank
    /// (`StepReport.waitSeconds`) from communication (`allreduceSeconds`).
    public var measureWaiting = false
    /// Runs on this rank after the local backward of each step, before the allreduce.
    public var afterBackward: ((_ step: Int) throws -> Void)?

    public init(model: Autoencoder, group: ReplicaGroup, source: BatchSource, settings: TrainerSettings) throws {
        try settings.validate(replicas: group.replicas)
        schedule = try settings.learningRateSchedule()
        self.model = model
        self.group = group
        self.source = source
        self.settings = settings
        optimizer = Adam(store: model.store, weightDecay: Double(settings.weightDecay))
        if settings.syncBatchNorm { model.reducer = group }
    }

    /// Makes every replica identical to rank 0: parameters, BatchNorm statistics, optimizer state,
    /// step counters and the sampler position. Returns rank 0's `position` on every rank.
    public func synchronizeFromRoot(position: LoaderPosition) -> LoaderPosition {
        let store = model.store
        group.broadcast(floats: store.values, count: store.parameterCount, root: 0)
        group.broadcast(floats: store.bufferValues, count: store.bufferCount, root: 0)
        group.broadcast(floats: optimizer.firstMoment, count: optimizer.parameterCount, root: 0)
        group.broadcast(floats: optimizer.secondMoment, count: optimizer.parameterCount, root: 0)
        let state = group.broadcast(value: RunState(optimizerStep: optimizer.step, stepsTaken: stepsTaken,
                                                    epoch: position.epoch, batchInEpoch: position.step), root: 0)
        optimizer.step = state.optimizerStep
        stepsTaken = state.stepsTaken
        return LoaderPosition(epoch: state.epoch, step: state.batchInEpoch)
    }

    /// One optimizer step. Throws `TrainingError.nonFinite` (on every rank alike) under the stop policy.
    ///
    /// ONE allreduce: the gradient buffer carries [reconstruction, latent, prediction, non-finite
    /// count] in its tail. The terms are packed as Float (summed and averaged in Float, ~7 digits,
    /// plenty for a log); the penalty is computed after the reduction, identically on every rank.
    /// The reduced buffer is the same on every rank, so the verdict is too; only on failure does a
    /// second collective find a culprit rank to name.
    public func step() throws -> StepReport {
        let started = Stopwatch()
        let epoch = source.position.epoch
        let batch = try source.nextBatch()
        let store = model.store
        store.zeroGradients()
        var terms = model.accumulateDataGradients(x: batch.x, y: model.config.objective == .reference ? batch.y : nil,
                                                  latentWeightFactor: settings.latentWeightFactor(atStep: stepsTaken))
        try afterBackward?(stepsTaken + 1)

        let n = store.parameterCount
        let tail = store.gradientTail(Self.tailCount)
        let averaged = n + Self.tailCount - 1   // the gradient and the three terms; not the count
        tail[0] = Float(terms.reconstruction); tail[1] = Float(terms.latent); tail[2] = Float(terms.prediction)
        // Judged on the Float values that travel, so a Double term beyond Float's range counts too.
        let localFinite = !containsNonFinite(store.gradients, count: averaged)
        tail[3] = localFinite ? 0 : 1
        var waitSeconds = 0.0
        if measureWaiting && group.replicas > 1 {
            waitSeconds = Stopwatch.time { group.synchronize() }
        }
        let reduceStart = Stopwatch()
        if group.replicas > 1 {
            group.sum(store.gradients, count: n + Self.tailCount)
            // The one averaging path: gradient and terms scaled by 1/replicas; the count stays a count.
            let scale = 1 / Float(group.replicas)
            let g = store.gradients
            for i in 0..<averaged { g[i] *= scale }
        }
        let reduceSeconds = reduceStart.seconds
        terms.reconstruction = Double(tail[0]); terms.latent = Double(tail[1]); terms.prediction = Double(tail[2])
        let nonFiniteRanks = Int(tail[3])
        terms.penalty = model.accumulatePenalty()

        var skipped = false
        if nonFiniteRanks > 0 || !terms.allFinite {
            // Every rank knows the verdict, so every rank joins this extra collective to name a culprit.
            var culprit = [localFinite ? -1 : Double(group.rank)]
            culprit.withUnsafeMutableBufferPointer { group.maximum($0.baseAddress!, count: 1) }
            let bad = terms.named.filter { !$0.1.isFinite }.map { $0.0 }
            let what = (bad.isEmpty ? "gradient" : "loss term " + bad.joined(separator: ", "))
                + (culprit[0] >= 0 ? " (on rank \(Int(culprit[0]))" + (nonFiniteRanks > 1 ? " and \(nonFiniteRanks - 1) other rank(s))" : ")") : "")
            if settings.nonFinite == .stop { throw TrainingError.nonFinite(step: stepsTaken + 1, what: what) }
            skipped = true
        }
        let lr = schedule.rate(atStep: stepsTaken)
        if !skipped {
            optimizer.update(parameters: store.values, gradients: store.gradients, learningRate: lr)
        }
        stepsTaken += 1
        let seconds = started.seconds
        return StepReport(step: stepsTaken, epoch: epoch, terms: terms, learningRate: lr, seconds: seconds,
                          allreduceSeconds: reduceSeconds, waitSeconds: waitSeconds, samples: settings.globalBatch, skipped: skipped)
    }

    /// Floats after the gradient in the step's allreduce: three loss terms and the non-finite count.
    static let tailCount = 4
}

/// What a run's ranks must agree on besides the tensors, broadcast once from rank 0 as its bytes
/// (plain integers: exact at any size).
struct RunState: BitwiseCopyable {
    var optimizerStep: Int
    var stepsTaken: Int
    var epoch: Int
    var batchInEpoch: Int
}
