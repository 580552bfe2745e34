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
        /// Steps timed alternately with the PyTorch peer's (`serve`): every pair's PyTorch seconds over
        /// ours, taken seconds apart; `ratio` is then their median. nil when the two were timed apart.
        public var pair_ratios: [Double]? = nil
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

    /// The speed-up of more threads over fewer, measured by alternating the thread count step by
    /// step in one process on one model (`GuardedTimer.measureAlternating`): each cycle times one step
    /// at every count, seconds apart, so the host's drifting load hits both sides of a ratio alike.
    public struct ThreadScaling: Codable, Sendable {
        public var objective: String
        public var batch: Int
        /// The thread counts, in the order each cycle runs them; speed-ups are over the first.
        public var threads: [Int]
        /// Median step seconds at each count.
        public var step_seconds: [Double]
        /// For each count, its speed-up over the first count in every cycle (the first count's own: all 1).
        public var speedups: [[Double]]
        /// For each count, the host's own speed-up over the first count in every cycle
        /// (`HostCapacityProbe`, timed right after that cycle's step at the count): the ceiling of
        /// `speedups` at that moment. nil in reports written before it existed.
        public var host_speedups: [[Double]]?
        /// Cycles in which every count's sample was clean (others < 0.1 core).
        public var clean_cycles: Int
        public var cycles: Int
        public var algorithm: String
        /// `bench train --rounds`: which round measured this; nil for a single round.
        public var round: Int?
    }

    /// The deterministic mode's cost measured with the modes alternated step by step in one process
    /// on one model (`GuardedTimer.measureAlternating`): each cycle times a default-mode step and a
    /// deterministic step seconds apart, so the host's drifting load hits both alike, where the separate
    /// runs (`Run.deterministic_cost`) compare children minutes apart.
    public struct DeterministicCost: Codable, Sendable {
        public var objective: String
        public var batch: Int
        public var threads: Int
        public var deterministic_unit: Int
        /// Median step seconds: the default mode's, then the deterministic mode's.
        public var step_seconds: [Double]
        /// Every cycle's deterministic step time over its default-mode step time, minus 1.
        public var costs: [Double]
        /// Cycles in which both samples were clean (others < 0.1 core).
        public var clean_cycles: Int
        public var cycles: Int
        public var algorithm: String
        /// `bench train --rounds`: which round measured this; nil for a single round.
        public var round: Int?
    }

    public func run(threads: Int, objective: Objective) throws -> Run {
        let baseline = DataBenchmark.peakResidentBytes()
        let s = try Setup(self, objective: objective)
        var penaltySeconds: [Double] = []
        let m = timer.measure { s.step(threads: threads) { penaltySeconds.append($0) } }
        return report(s, m, penaltySeconds: penaltySeconds, baseline: baseline, threads: threads, objective: objective)
    }

    /// One configuration timed step by step on the caller's command, so that another process's steps
    /// (the PyTorch peer's) can be timed in between and each ratio compares timings seconds apart.
    /// After `timer.warmups` untimed steps `reply` gets `{"ready":true}`; then each `"step"` from
    /// `next` is one guarded step, answered with its `GuardedTimer.Sample`, and `"end"` answers with
    /// the `Run` of the steps so far (peak RSS included) and returns. Anything else, or `next`
    /// running dry first, throws.
    public func serve(threads: Int, objective: Objective, next: () -> String?, reply: (Data) -> Void) throws {
        let baseline = DataBenchmark.peakResidentBytes()
        let s = try Setup(self, objective: objective)
        for _ in 0..<timer.warmups { s.step(threads: threads) { _ in } }
        reply(Data(#"{"ready":true}"#.utf8))
        var samples: [GuardedTimer.Sample] = []
        var penaltySeconds: [Double] = []
        while let command = next() {
            switch command {
            case "step":
                let sample = timer.measureOne { s.step(threads: threads) { penaltySeconds.append($0) } }
                samples.append(sample)
                reply(try JSONEncoder().encode(sample))
            case "end":
                guard !samples.isEmpty else { throw ServeError.protocolViolation("'end' before any 'step'") }
                let m = GuardedTimer.Measurement(samples: samples, iterations: 1, waitedSeconds: 0)
                reply(try JSONEncoder().encode(report(s, m, penaltySeconds: penaltySeconds, baseline: baseline,
                                                      threads: threads, objective: objective)))
                return
            default:
                throw ServeError.protocolViolation("unknown command '\(command)' (step, end)")
            }
        }
        throw ServeError.protocolViolation("input ended before 'end'")
    }

    public enum ServeError: Error, CustomStringConvertible {
        case protocolViolation(String)
        public var description: String {
            switch self { case .protocolViolation(let s): return "bench train --serve: \(s)" }
        }
    }

    private func report(_ s: Setup, _ m: GuardedTimer.Measurement, penaltySeconds: [Double], baseline: Int64,
                        threads: Int, objective: Objective) -> Run {
        let step = m.medianClean.isFinite ? m.medianClean : m.median
        let penalty = median(penaltySeconds)
        let macs = s.model.multiplyAdds
        // Passes per sample: reconstruction 1 encoder + 1 decoder; reference 2 + 2.
        let passes = objective == .reference ? 2.0 : 1.0
        let flops = 2 * 3 * passes * Double(macs.encoder + macs.decoder) * Double(batch)
        return Run(threads: threads, objective: objective.rawValue, batch: batch,
                   samples_per_second: Double(batch) / step, step_seconds: step,
                   regularizer_share: penalty / step, regularizer_seconds: penalty, gflops: flops / step / 1e9,
                   clean_samples: m.cleanSamples, samples: m.samples.count, algorithm: algorithm.rawValue,
                   peak_rss_mb: Double(DataBenchmark.peakResidentBytes()) / 1e6, baseline_rss_mb: Double(baseline) / 1e6,
                   ratio: nil, deterministic: deterministic, deterministic_cost: nil,
                   deterministic_unit: deterministic ? deterministicUnit : nil, pair_ratios: nil)
    }

    /// `timer.samples` cycles, each one step at every count of `threads` in turn, on one model, each
    /// step followed by the host-capacity probe at the same count.
    public func runAlternating(threads: [Int], objective: Objective) throws -> ThreadScaling {
        precondition(!threads.isEmpty)
        let s = try Setup(self, objective: objective)
        let probe = HostCapacityProbe()
        // Configuration 2i is the step at threads[i], 2i + 1 the probe right after it.
        let ms = timer.measureAlternating(2 * threads.count) { j in
            if j % 2 == 0 { s.step(threads: threads[j / 2]) { _ in } } else { probe.run(threads: threads[j / 2]) }
        }
        let steps = stride(from: 0, to: ms.count, by: 2).map { ms[$0] }
        let probes = stride(from: 1, to: ms.count, by: 2).map { ms[$0] }
        return ThreadScaling(objective: objective.rawValue, batch: batch, threads: threads,
                             step_seconds: steps.map(\.median),
                             speedups: steps.map { steps[0].ratios(over: $0) },
                             host_speedups: probes.map { probes[0].ratios(over: $0) },
                             clean_cycles: GuardedTimer.cleanRounds(ms), cycles: steps[0].samples.count,
                             algorithm: algorithm.rawValue, round: nil)
    }

    /// `timer.samples` cycles, each one default-mode step and one deterministic step (unit
    /// `deterministicUnit`) on one model: the mode is the model's `store.exact`, set before each step.
    public func runAlternatingModes(threads: Int, objective: Objective) throws -> DeterministicCost {
        var plain = self
        plain.deterministic = false
        let s = try Setup(plain, objective: objective)
        let exact = ExactGradients(parameterCount: s.model.store.parameterCount, unit: deterministicUnit)
        let ms = timer.measureAlternating(2) { i in
            s.model.store.exact = i == 1 ? exact : nil
            s.step(threads: threads) { _ in }
        }
        s.model.store.exact = nil
        return DeterministicCost(objective: objective.rawValue, batch: batch, threads: threads, deterministic_unit: deterministicUnit,
                                 step_seconds: ms.map(\.median),
                                 costs: ms[1].ratios(over: ms[0]).map { $0 - 1 },
                                 clean_cycles: GuardedTimer.cleanRounds(ms), cycles: ms[0].samples.count,
                                 algorithm: algorithm.rawValue, round: nil)
    }

    /// A model, its optimiser and one batch of random data, for timing steps.
    private struct Setup {
        let model: Autoencoder
        let adam: Adam
        let x: Tensor
        let y: Tensor?

        init(_ bench: StepBenchmark, objective: Objective) throws {
            var c = bench.config
            c.objective = objective
            model = try Autoencoder(config: c, seed: 1)
            model.convAlgorithm = bench.algorithm
            adam = Adam(store: model.store)
            let shape = [bench.batch] + c.inputShape
            var rng = RNG(seed: 2)
            let x = Tensor(uninitialized: shape), y = Tensor(uninitialized: shape)
            for i in 0..<x.count { x.data[i] = rng.uniformFloat(); y.data[i] = rng.uniformFloat() }
            self.x = x
            self.y = objective == .reference ? y : nil
            BLASThreads.set(1)   // the layers' own workers are the threads (see ComputeBudget)
            if bench.deterministic {
                model.store.exact = ExactGradients(parameterCount: model.store.parameterCount, unit: bench.deterministicUnit)
            }
        }

        /// One training step at `threads` threads; `penalty` gets the penalty's seconds.
        func step(threads: Int, penalty: (Double) -> Void) {
            model.computeBudget = ComputeBudget(threads: threads)
            model.store.zeroGradients()
            _ = model.accumulateDataGradients(x: x, y: y)
            if let exact = model.store.exact {
                _ = exact.sumOverReplicas(SingleProcess(), bad: false)
                exact.write(into: model.store.gradients)
            }
            penalty(Stopwatch.time { model.accumulatePenalty() })
            adam.update(model.store, learningRate: 1e-4, threads: threads)
        }
    }
}
