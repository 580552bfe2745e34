import Core
import Distributed
import Foundation

/// One rank's side of `cpae-mpi bench scaling`: the real training step of either phase on
/// synthetic in-memory data, timed per step — phase 1's (SyncBN, one gradient allreduce, Adam) or
/// phase 2's (the latent ODE's loss backpropagated through the fixed-step solver, one gradient
/// allreduce, Adam). Rank 0 returns the medians.
///
/// The machine may be shared: a step during which some rank got less than `minimumCPUShare` of a
/// core (another process or the hypervisor took the rest — measured as the rank's own CPU time
/// over the step's wall time, `CPUSnapshot`) counts as disturbed, and the medians are over the
/// undisturbed steps when there are any. Waiting ranks spin in MPI, so a rank that waits for a
/// slow peer still uses its whole core; only being descheduled lowers the share.
public struct ScalingWorker {
    /// What every rank trains.
    public enum Workload: Sendable {
        /// Phase 1: `AutoencoderTrainer` on uniform random frames.
        case autoencoder(ModelConfig, ConvAlgorithm = .auto)
        /// Phase 2: `ODETrainer` on Gaussian latent pairs one frame step apart.
        case latentODE(LatentModelConfig)

        /// The name `--phase` gives it.
        public var phase: String {
            switch self {
            case .autoencoder: return "ae"
            case .latentODE: return "ode"
            }
        }
    }

    public struct Result: Codable, Sendable {
        public var phase: String
        public var ranks: Int
        public var local_batch: Int
        public var global_batch: Int
        /// The autoencoder's objective (phase 1 only).
        public var objective: String?
        public var blas_threads: Int
        public var step_seconds: Double
        public var samples_per_second: Double
        public var allreduce_seconds: Double
        public var wait_seconds: Double
        public var allreduce_share: Double
        public var wait_share: Double
        public var gradient_floats: Int
        /// One Adam update of the whole parameter buffer, timed apart (median of 5, rank 0): the part
        /// of the step that no rank count shrinks.
        public var optimizer_seconds: Double
        /// Bytes of every reduction one step makes besides the gradient allreduce (SyncBN's
        /// per-channel sums, forward and backward; empty in phase 2), as the step issued them.
        public var small_reduction_bytes: [Int]
        /// Median of a 1-float allreduce and of a gradient-sized one, timed apart after the steps
        /// (slowest rank, `allreduceTimes`); nil on one rank. `bench scaling` fits the ring model's
        /// latency and bandwidth to the pair.
        public var allreduce_one_float_seconds: Double?
        public var allreduce_gradient_seconds: Double?
        public var steps: Int
        /// Timed steps during which every rank had its core (the medians are over these, or over
        /// all steps when none was).
        public var undisturbed_steps: Int
    }

    public var workload: Workload
    public var localBatch: Int
    public var steps: Int
    public var warmup: Int
    /// A step is undisturbed when every rank's own CPU time was at least this share of its wall time.
    public var minimumCPUShare = 0.95

    public init(workload: Workload, localBatch: Int, steps: Int, warmup: Int) {
        self.workload = workload; self.localBatch = localBatch; self.steps = steps; self.warmup = warmup
    }

    /// One step's wall time on this rank and the parts of it spent in the allreduce and in the
    /// barrier before it.
    private struct StepTiming {
        var seconds: Double
        var allreduceSeconds: Double
        var waitSeconds: Double
        /// Share of the step's wall time this rank was not running (filled in by `run`).
        var descheduledShare = 0.0
    }

    /// A trainer ready to step, behind the one signature both phases share.
    private struct Stepper {
        var step: () throws -> StepTiming
        var gradientFloats: Int
        var objective: String?
    }

    /// Repeats of the separate allreduce and optimizer timings.
    private static let latencyRepeats = 40, gradientRepeats = 10, optimizerRepeats = 5

    public func run(_ comm: Communicator) throws -> Result? {
        BLASThreads.set(1)   // 1 BLAS thread per rank, np=1 included, so efficiencies compare like with like
        let stepper: Stepper
        let group = CountingReplicaGroup(comm)
        switch workload {
        case .autoencoder(let config, let algorithm): stepper = try autoencoder(config, algorithm, group)
        case .latentODE(let config): stepper = try latentODE(config, group)
        }
        var reports: [StepTiming] = []
        var stepSums: [Int] = []
        for i in 0..<(warmup + steps) {
            group.reset()
            let before = CPUSnapshot.now()
            var r = try stepper.step()
            let after = CPUSnapshot.now()
            r.descheduledShare = Swift.max(0, 1 - (after.own - before.own) / Swift.max(after.wall - before.wall, 1e-9))
            if i >= warmup { reports.append(r) }
            stepSums = group.sumBytes
        }
        // The gradient travels in one sum at least the parameters' size (with the loss terms at its
        // tail; a single rank skips it); SyncBN's per-channel sums are far smaller.
        let small = stepSums.filter { $0 < stepper.gradientFloats * MemoryLayout<Float>.size }
        var oneFloat: Double?, gradientSized: Double?
        if comm.size > 1 {
            oneFloat = median(try comm.allreduceTimes(count: 1, repeats: Self.latencyRepeats))
            gradientSized = median(try comm.allreduceTimes(count: stepper.gradientFloats, repeats: Self.gradientRepeats))
        }
        let optimizer = Self.optimizerSeconds(parameters: stepper.gradientFloats)
        // The slowest (or most disturbed) rank sets the pace: take each step's maximum over ranks.
        let columns = 4
        var times = reports.flatMap { [$0.seconds, $0.allreduceSeconds, $0.waitSeconds, $0.descheduledShare] }
        times.withUnsafeMutableBufferPointer { comm.maximum($0.baseAddress!, count: $0.count) }
        guard comm.isRoot else { return nil }
        let rows = (0..<reports.count).map { Array(times[($0 * columns)..<(($0 + 1) * columns)]) }
        let undisturbed = rows.filter { $0[3] <= 1 - minimumCPUShare }
        let kept = undisturbed.isEmpty ? rows : undisturbed
        func column(_ k: Int) -> Double { median(kept.map { $0[k] }) }
        let step = column(0), reduce = column(1), wait = column(2)
        return Result(phase: workload.phase, ranks: comm.size, local_batch: localBatch, global_batch: localBatch * comm.size,
                      objective: stepper.objective, blas_threads: BLASThreads.current,
                      step_seconds: step, samples_per_second: Double(localBatch * comm.size) / step,
                      allreduce_seconds: reduce, wait_seconds: wait, allreduce_share: reduce / step, wait_share: wait / step,
                      gradient_floats: stepper.gradientFloats, optimizer_seconds: optimizer, small_reduction_bytes: small,
                      allreduce_one_float_seconds: oneFloat, allreduce_gradient_seconds: gradientSized,
                      steps: steps, undisturbed_steps: undisturbed.count)
    }

    /// Median time of one Adam update over `parameters` floats, on scratch buffers.
    static func optimizerSeconds(parameters n: Int) -> Double {
        let adam = Adam(parameterCount: n)
        let values = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        let gradients = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        values.initialize(repeating: 0.5, count: n); gradients.initialize(repeating: 1e-3, count: n)
        defer { values.deallocate(); gradients.deallocate() }
        return median((0..<optimizerRepeats).map { _ in
            Stopwatch.time { adam.update(parameters: values, gradients: gradients, learningRate: 1e-5) }
        })
    }

    /// Settings of a timing run: the learning rate is small so that no step of it goes non-finite.
    private func settings(_ comm: ReplicaGroup) -> TrainerSettings {
        TrainerSettings(globalBatch: localBatch * comm.replicas, steps: warmup + steps, schedule: "constant:1e-5")
    }

    private func autoencoder(_ config: ModelConfig, _ algorithm: ConvAlgorithm, _ comm: CountingReplicaGroup) throws -> Stepper {
        var rng = RNG.derived(17, UInt64(comm.rank))
        let shape = [localBatch] + config.inputShape
        let x = Tensor(uninitialized: shape), y = Tensor(uninitialized: shape)
        for i in 0..<x.count { x.data[i] = rng.uniformFloat(); y.data[i] = rng.uniformFloat() }
        let source = InMemoryBatchSource(inputs: x, targets: y, rank: 0, worldSize: 1, localBatch: localBatch, seed: 1, shuffle: false)
        let model = try Autoencoder(config: config, seed: 1)
        model.convAlgorithm = algorithm
        let trainer = try AutoencoderTrainer(model: model, group: comm, source: source, settings: settings(comm))
        _ = trainer.synchronizeFromRoot(position: source.position)
        trainer.measureWaiting = true
        return Stepper(step: {
            let r = try trainer.step()
            return StepTiming(seconds: r.seconds, allreduceSeconds: r.allreduceSeconds, waitSeconds: r.waitSeconds)
        }, gradientFloats: model.parameterCount, objective: config.objective.rawValue)
    }

    private func latentODE(_ config: LatentModelConfig, _ comm: CountingReplicaGroup) throws -> Stepper {
        // Each rank's own synthetic pairs: one full local batch per step, the same rows every step.
        var rng = RNG.derived(19, UInt64(comm.rank))
        let pairs = InMemoryLatentPairs.synthetic(count: localBatch, dimension: config.dimension, frameStep: config.frameStep, rng: &rng)
        // One thread per rank at every rank count (a lone rank of `train-ode` would take every core).
        let model = try config.build(seed: 1, budget: .serial)
        let trainer = try ODETrainer(model: model, group: comm, sampler: pairs, settings: settings(comm))
        _ = trainer.synchronizeFromRoot(position: pairs.position)
        trainer.measureWaiting = true
        return Stepper(step: {
            let r = try trainer.step()
            return StepTiming(seconds: r.seconds, allreduceSeconds: r.allreduceSeconds, waitSeconds: r.waitSeconds)
        }, gradientFloats: model.store.parameterCount, objective: nil)
    }
}
