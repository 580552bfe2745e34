/// What one phase-2 optimizer step did, as rank 0 logs it.
public struct ODEStepReport: Sendable {
    public var step: Int              // 1-based count of steps taken
    public var epoch: Int
    /// Training-batch loss averaged over the global batch (MSE/h²).
    public var loss: Double
    public var learningRate: Float
    public var seconds: Double
    public var allreduceSeconds: Double
    /// Time in the barrier before the allreduce, waiting for the slowest rank (0 unless `measureWaiting`).
    public var waitSeconds: Double
    public var samples: Int           // global batch
    public var skipped: Bool
}

/// The data-parallel training loop of phase 2, the same shape as phase 1's: each rank's share of the
/// global batch of latent pairs → local loss and gradient (backpropagated through the fixed-step
/// solver) → ONE allreduce of the flat gradient with the loss at its tail (`GradientExchange`) → the
/// same Adam step everywhere. No BatchNorm, no penalty.
public final class ODETrainer {
    public let model: LatentDynamics
    public let group: ReplicaGroup
    public let sampler: LatentBatchSource
    public let settings: TrainerSettings
    public let optimizer: Adam
    public let schedule: LearningRateSchedule
    public var stepsTaken = 0
    /// Benchmarks only: a barrier before the allreduce separates waiting for the slowest rank
    /// (`ODEStepReport.waitSeconds`) from communication (`allreduceSeconds`).
    public var measureWaiting = false
    /// Runs on this rank after the local backward of each step, before the allreduce (fault injection).
    public var afterBackward: ((_ step: Int) throws -> Void)?
    private var exchange: GradientExchange
    /// The deterministic mode's exact per-sample sums (nil otherwise).
    private let exact: ExactGradients?
    /// The deterministic mode's models for threads beyond the first (`UnitWorkers`).
    private let workers: UnitWorkers

    /// `makeWorker` builds a model of the same configuration as `model` (its weights are copied in
    /// before use): with it, the deterministic mode runs its units on all of the model's threads, one
    /// model per thread; without, on one.
    public init(model: LatentDynamics, group: ReplicaGroup, sampler: LatentBatchSource, settings: TrainerSettings,
                makeWorker: (() throws -> LatentDynamics)? = nil) throws {
        try settings.validate(replicas: group.replicas)
        schedule = try settings.learningRateSchedule()
        self.model = model; self.group = group; self.sampler = sampler; self.settings = settings
        optimizer = Adam(store: model.store, weightDecay: Double(settings.weightDecay))
        exchange = GradientExchange(group: group, store: model.store, termNames: ["loss"])
        exact = settings.isDeterministic ? ExactGradients(parameterCount: model.store.parameterCount, unit: settings.deterministicUnit ?? 1) : nil
        workers = try UnitWorkers(model: model, make: settings.isDeterministic ? makeWorker : nil, unit: settings.deterministicUnit ?? 1)
    }

    /// Every replica takes rank 0's parameters, moments, counters and sampler position.
    public func synchronizeFromRoot(position: LoaderPosition) -> LoaderPosition {
        let state = exchange.synchronizeFromRoot(optimizer: optimizer, state: RunState(
            optimizerStep: optimizer.step, stepsTaken: stepsTaken, epoch: position.epoch, batchInEpoch: position.step))
        stepsTaken = state.stepsTaken
        return LoaderPosition(epoch: state.epoch, step: state.batchInEpoch)
    }

    public func step() throws -> ODEStepReport {
        let started = Stopwatch()
        let epoch = sampler.position.epoch
        let batch = sampler.nextBatch()
        model.store.zeroGradients()
        let outcome: GradientExchange.Outcome
        if let exact {
            let loss = exactLossAndGradient(batch, into: exact)
            try afterBackward?(stepsTaken + 1)
            exchange.measureWaiting = measureWaiting
            outcome = exchange.reduce(globalTerms: [loss], exact: exact)
        } else {
            let local = model.lossAndGradient(starts: batch.start, targets: batch.targets)
            try afterBackward?(stepsTaken + 1)
            exchange.measureWaiting = measureWaiting
            outcome = exchange.reduce(terms: [local])
        }
        let loss = outcome.terms[0]
        var skipped = false
        if outcome.nonFiniteReplicas > 0 || !loss.isFinite {
            let what = exchange.describeNonFinite(outcome, terms: [("loss", loss)])
            if settings.nonFinite == .stop { throw TrainingError.nonFinite(step: stepsTaken + 1, what: what) }
            skipped = true
        }
        let lr = schedule.rate(atStep: stepsTaken)
        if !skipped { optimizer.update(parameters: model.store.values, gradients: model.store.gradients, learningRate: lr) }
        stepsTaken += 1
        return ODEStepReport(step: stepsTaken, epoch: epoch, loss: loss, learningRate: lr, seconds: started.seconds,
                             allreduceSeconds: outcome.allreduceSeconds, waitSeconds: outcome.waitSeconds,
                             samples: settings.globalBatch, skipped: skipped)
    }

    /// The deterministic mode's local step: each unit's loss and gradient on its own (no BatchNorm
    /// here, so units are independent; every model runs single-threaded, so a unit's GEMMs and their
    /// sums are the same however many threads there are), folded into the exact sums as its share of
    /// the global batch mean; returns the global mean loss, summed exactly over the replicas. The
    /// units are claimed by the threads' models (`UnitWorkers`), each folding into sums of its own;
    /// integer sums, so the total is the same whichever thread took which unit.
    private func exactLossAndGradient(_ batch: LatentBatch, into exact: ExactGradients) -> Double {
        let d = model.dimension, rows = batch.start.count / d, unit = exact.unit, units = rows / unit
        precondition(rows % unit == 0, "deterministic mode: \(rows) rows are not whole units of \(unit)")
        let share = Double(unit) / Double(rows * group.replicas), n = model.store.parameterCount
        exact.zero()
        var losses = [Double](repeating: 0, count: units)
        losses.withUnsafeMutableBufferPointer { losses in
            workers.run(units, into: exact) { u, worker, sums in
                let part = (u * unit * d)..<((u + 1) * unit * d)
                losses[u] = worker.lossAndGradient(starts: Array(batch.start[part]), targets: batch.targets.map { Array($0[part]) }) * share
                sums!.fold(worker.store.gradients, at: 0, length: n, scale: share)
            }
        }
        return exactSampleSums(losses, sums: 1, samples: units, group: group)[0]
    }

    /// The mean loss over a split's pairs (each rank holds a strided share; the sum and the count
    /// are reduced in Double, so every rank gets the same value). Leaves the gradient buffer zeroed.
    public func loss(on set: LatentPairSet, chunk: Int = 20_000) -> Double {
        let d = model.dimension
        if exact != nil {
            // Deterministic mode: each pair's loss on its own, summed exactly, so the selection a
            // checkpoint records does not depend on how the pairs were split over ranks.
            // Per pair: [its loss…, 1…] — the loss sum and the pair count in one exact reduction.
            var values = [Double](repeating: 1, count: 2 * set.count)
            values.withUnsafeMutableBufferPointer { values in
                workers.run(set.count, into: nil) { r, worker, _ in
                    let start = Array(set.start[(r * d)..<((r + 1) * d)])
                    let targets = set.targets.map { Array($0[(r * d)..<((r + 1) * d)]) }
                    values[r] = worker.lossAndGradient(starts: start, targets: targets)
                }
            }
            model.store.zeroGradients()
            let sums = exactSampleSums(values, sums: 2, samples: set.count, group: group)
            return sums[1] > 0 ? sums[0] / sums[1] : .nan
        }
        var sums = [0.0, Double(set.count)]
        var row = 0
        // Chunks bound the solver's stored activations; the loss is a mean, so weight each by its rows.
        while row < set.count {
            let rows = min(chunk, set.count - row)
            let start = Array(set.start[(row * d)..<((row + rows) * d)])
            let targets = set.targets.map { Array($0[(row * d)..<((row + rows) * d)]) }
            model.store.zeroGradients()
            sums[0] += model.lossAndGradient(starts: start, targets: targets) * Double(rows)
            row += rows
        }
        model.store.zeroGradients()
        sums.withUnsafeMutableBufferPointer { group.sum($0.baseAddress!, count: 2) }
        return sums[1] > 0 ? sums[0] / sums[1] : .nan
    }
}
