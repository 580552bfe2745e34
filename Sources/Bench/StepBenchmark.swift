import Core
import Foundation

/// Times the full phase-1 training step (forward, backward, penalty, Adam) of one model on random
/// data, as `cpae-mpi bench train` reports it (which runs each configuration in a process of its own,
/// so the peak RSS is that configuration's alone).
public struct StepBenchmark {
    public struct Run: Codable, Sendable {
        public var threads: Int
        public var objective: String
        public var batch: Int
        public var samples_per_second: Double
        public var step_seconds: Double
        /// Share of the step spent in the penalty's value and gradient.
        public var regularizer_share: Double
        public var regularizer_seconds: Double
        /// Direct-convolution FLOPs of the step (2 per multiply-add, backward = 2× forward) per second.
        public var gflops: Double
        public var clean_samples: Int
        public var samples: Int
        /// The requested convolution algorithm (`auto`, `direct`, `winograd`).
        public var algorithm: String
        /// Peak resident set of this process at the end of the run, MB = 10⁶ bytes (VmHWM): the
        /// configuration's own only when it is the process's first and only run.
        public var peak_rss_mb: Double
        /// Peak resident set before the model existed (runtime and libraries), the floor of `peak_rss_mb`.
        public var baseline_rss_mb: Double
        /// Our samples/s over the PyTorch peer's at the same configuration (set by the caller that ran the peer).
        public var ratio: Double?
        /// Whether the step ran in the deterministic mode (exact per-sample sums, docs/distributed.md
        /// §Deterministic); nil in reports written before it existed.
        public var deterministic: Bool?
        /// Deterministic runs: their step time over the default mode's at the same configuration, minus 1
        /// (set by the caller that ran both).
        public var deterministic_cost: Double?
        /// Deterministic runs: samples per exactly-summed unit.
        public var deterministic_unit: Int?
        /// `bench train --rounds`: which round (from 1) measured this run; nil for a single round.
        public var round: Int?
    }

    public var config: ModelConfig
    public var batch: Int
    public var timer: GuardedTimer
    public var algorithm = ConvAlgorithm.auto
    /// Time the deterministic mode's step: per-sample GEMMs and exact sums, and the conversion of the
    /// exact sums to the Float gradient that its (integer) allreduce is followed by.
    public var deterministic = false
    /// The deterministic mode's unit (`TrainerSettings.deterministicUnit`).
    public var deterministicUnit = 1

    public init(config: ModelConfig, batch: Int, timer: GuardedTimer = GuardedTimer()) {
        self.config = config
        self.batch = batch
        self.timer = timer
    }

    public func run(threads: Int, objective: Objective) throws -> Run {
        let baseline = DataBenchmark.peakResidentBytes()
        var c = config
        c.objective = objective
        let model = try Autoencoder(config: c, seed: 1)
        model.convAlgorithm = algorithm
        let adam = Adam(store: model.store)
        let shape = [batch] + c.inputShape
        var rng = RNG(seed: 2)
        let x = Tensor(uninitialized: shape), y = Tensor(uninitialized: shape)
        for i in 0..<x.count { x.data[i] = rng.uniformFloat(); y.data[i] = rng.uniformFloat() }
        BLASThreads.set(1)   // the layers' own workers are the threads (see ComputeBudget)
        model.computeBudget = ComputeBudget(threads: threads)
        if deterministic { model.store.exact = ExactGradients(parameterCount: model.store.parameterCount, unit: deterministicUnit) }
        var penaltySeconds: [Double] = []
        let m = timer.measure {
            model.store.zeroGradients()
            _ = model.accumulateDataGradients(x: x, y: objective == .reference ? y : nil)
            if let exact = model.store.exact {
                _ = exact.sumOverReplicas(SingleProcess(), bad: false)
                exact.write(into: model.store.gradients)
            }
            penaltySeconds.append(Stopwatch.time { model.accumulatePenalty() })
            adam.update(model.store, learningRate: 1e-4, threads: threads)
        }
        let step = m.medianClean.isFinite ? m.medianClean : m.median
        let penalty = median(penaltySeconds)
        let macs = model.multiplyAdds
        // Passes per sample: reconstruction 1 encoder + 1 decoder; reference 2 + 2.
        let passes = objective == .reference ? 2.0 : 1.0
        let flops = 2 * 3 * passes * Double(macs.encoder + macs.decoder) * Double(batch)
        return Run(threads: threads, objective: objective.rawValue, batch: batch,
                   samples_per_second: Double(batch) / step, step_seconds: step,
                   regularizer_share: penalty / step, regularizer_seconds: penalty, gflops: flops / step / 1e9,
                   clean_samples: m.cleanSamples, samples: m.samples.count, algorithm: algorithm.rawValue,
                   peak_rss_mb: Double(DataBenchmark.peakResidentBytes()) / 1e6, baseline_rss_mb: Double(baseline) / 1e6,
                   ratio: nil, deterministic: deterministic, deterministic_cost: nil,
                   deterministic_unit: deterministic ? deterministicUnit : nil)
    }
}
