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

    /// Makes every replica identical to rank 0: parameters, BatchNorm statistics, optimizer state.
    public func synchronizeFromRoot() {
        let store = model.store
        group.broadcastFloats(store.values, count: store.parameterCount, root: 0)
        group.broadcastFloats(store.bufferValues, count: store.bufferCount, root: 0)
        group.broadcastFloats(optimizer.firstMoment, count: optimizer.parameterCount, root: 0)
        group.broadcastFloats(optimizer.secondMoment, count: optimizer.parameterCount, root: 0)
        var counters = [Float(optimizer.step), Float(stepsTaken)]   // exact below 2^24 steps
        counters.withUnsafeMutableBufferPointer { group.broadcastFloats($0.baseAddress!, count: 2, root: 0) }
        optimizer.step = Int(counters[0])
        stepsTaken = Int(counters[1])
    }

    /// One optimizer step. Throws `TrainingError.nonFinite` (on every rank alike) under the stop policy.
    public func step() throws -> StepReport {
        let started = DispatchTime.now().uptimeNanoseconds
        let epoch = source.position.epoch
        let batch = try source.nextBatch()
        let store = model.store
        store.zeroGradients()
        var terms = model.accumulateDataGradients(x: batch.x, y: model.config.objective == .reference ? batch.y : nil,
                                                  latentWeightFactor: settings.latentWeightFactor(atStep: stepsTaken))
        try afterBackward?(stepsTaken + 1)

        // The gradient and the loss terms travel together: the averaged buffer is identical on every
        // rank, so the finiteness verdict below is too; the count says on how many ranks it began.
        let localFinite = terms.allFinite && !containsNonFinite(store.gradients, count: store.parameterCount)
        var waitSeconds = 0.0
        if measureWaiting && group.replicas > 1 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            group.synchronize()
            waitSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        let reduceStart = DispatchTime.now().uptimeNanoseconds
        let replicas = Float(group.replicas)
        var packed: [Double] = [terms.reconstruction, terms.latent, terms.prediction, localFinite ? 0 : 1]
        if group.replicas > 1 {
            group.sum(store.gradients, count: store.parameterCount)
            packed.withUnsafeMutableBufferPointer { group.sum($0.baseAddress!, count: $0.count) }
            let scale = 1 / replicas
            let g = store.gradients
            for i in 0..<store.parameterCount { g[i] *= scale }
            for i in 0..<3 { packed[i] /= Double(group.replicas) }
        }
        let reduceSeconds = Double(DispatchTime.now().uptimeNanoseconds - reduceStart) / 1e9
        terms.reconstruction = packed[0]; terms.latent = packed[1]; terms.prediction = packed[2]
        terms.penalty = model.accumulatePenalty()

        var skipped = false
        if packed[3] > 0 || !terms.allFinite {
            // Every rank knows the verdict, so every rank joins this extra collective to name a culprit.
            var culprit = [localFinite ? -1 : Double(group.rank)]
            culprit.withUnsafeMutableBufferPointer { group.maximum($0.baseAddress!, count: 1) }
            let bad = terms.named.filter { !$0.1.isFinite }.map { $0.0 }
            let what = (bad.isEmpty ? "gradient" : "loss term " + bad.joined(separator: ", "))
                + (culprit[0] >= 0 ? " (on rank \(Int(culprit[0]))" + (packed[3] > 1 ? " and \(Int(packed[3]) - 1) other rank(s))" : ")") : "")
            if settings.nonFinite == .stop { throw TrainingError.nonFinite(step: stepsTaken + 1, what: what) }
            skipped = true
        }
        let lr = schedule.rate(atStep: stepsTaken)
        if !skipped {
            optimizer.update(parameters: store.values, gradients: store.gradients, learningRate: lr)
        }
        stepsTaken += 1
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return StepReport(step: stepsTaken, epoch: epoch, terms: terms, learningRate: lr, seconds: seconds,
                          allreduceSeconds: reduceSeconds, waitSeconds: waitSeconds, samples: settings.globalBatch, skipped: skipped)
    }
}
