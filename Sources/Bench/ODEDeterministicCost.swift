import Core

/// The deterministic mode's cost in phase 2, as `cpae-mpi bench ode --deterministic` reports it: two
/// `ODETrainer`s on the benchmark's model and batch — one in the default mode, one deterministic (its
/// default unit unless one is given, a model per thread) — with their steps alternated
/// (`GuardedTimer.measureAlternating`), so the two steps of a pair are timed seconds apart, under
/// almost the same load from the host's other guests.
extension ODEBenchmark {
    public struct DeterministicCost: Codable, Sendable {
        public var threads: Int
        public var batch: Int
        public var deterministic_unit: Int
        /// Medians over the pairs.
        public var default_step_seconds: Double
        public var deterministic_step_seconds: Double
        /// Each pair's deterministic / default step − 1, and their median.
        public var costs: [Double]
        public var cost: Double
        public var clean_samples: Int
        public var samples: Int
    }

    /// `unit`: the deterministic mode's unit (nil: `TrainerSettings.defaultLatentUnit`, what
    /// `train-ode --deterministic` uses).
    public func deterministicCost(threads: Int, unit: Int?) throws -> DeterministicCost {
        let config = LatentModelConfig(kind: .mlp, dimension: dimension, hiddenWidths: [width, width], frameStep: frameStep,
                                       method: method, substeps: substeps)
        var rng = RNG(seed: 2)
        let pairs = InMemoryLatentPairs.synthetic(count: batch, dimension: dimension, frameStep: frameStep, rng: &rng)
        let unit = unit ?? TrainerSettings.defaultLatentUnit(globalBatch: batch)
        BLASThreads.set(1)   // the models' workers are the threads (see ComputeBudget)
        // Every model alike (the per-thread ones too: a unit must run the same way on each).
        func build(_ budget: ComputeBudget) throws -> LatentDynamics {
            let model = try config.build(seed: 1, budget: budget)
            if let chunkRows, let field = model as? FieldDynamics { field.integrator.chunkRows = chunkRows }
            return model
        }
        func trainer(deterministic: Bool) throws -> ODETrainer {
            let model = try build(ComputeBudget(threads: threads))
            let settings = TrainerSettings(globalBatch: batch, steps: 1 << 30, schedule: "constant:1e-5", syncBatchNorm: false,
                                           deterministic: deterministic, deterministicUnit: deterministic ? unit : nil)
            return try ODETrainer(model: model, group: SingleProcess(), sampler: pairs, settings: settings,
                                  makeWorker: { try build(.serial) })
        }
        let trainers = [try trainer(deterministic: false), try trainer(deterministic: true)]
        var failure: Error?
        let m = timer.measureAlternating(2) { i in
            guard failure == nil else { return }
            do { _ = try trainers[i].step() } catch { failure = error }
        }
        if let failure { throw failure }
        let costs = m[1].ratios(over: m[0]).map { $0 - 1 }
        return DeterministicCost(threads: threads, batch: batch, deterministic_unit: unit,
                                 default_step_seconds: m[0].median, deterministic_step_seconds: m[1].median,
                                 costs: costs, cost: median(costs), clean_samples: GuardedTimer.cleanRounds(m), samples: costs.count)
    }
}
