import Core
import Distributed
import Foundation

/// One rank's side of `cpae-mpi bench scaling`: the real training step (SyncBN, one gradient
/// allreduce, Adam) on synthetic in-memory data, timed per step. Rank 0 returns the medians.
public struct ScalingWorker {
    public struct Result: Codable, Sendable {
        public var ranks: Int
        public var local_batch: Int
        public var global_batch: Int
        public var objective: String
        public var blas_threads: Int
        public var step_seconds: Double
        public var samples_per_second: Double
        public var allreduce_seconds: Double
        public var wait_seconds: Double
        public var allreduce_share: Double
        public var wait_share: Double
        public var gradient_floats: Int
        public var steps: Int
    }

    public var config: ModelConfig
    public var localBatch: Int
    public var steps: Int
    public var warmup: Int

    public init(config: ModelConfig, localBatch: Int, steps: Int, warmup: Int) {
        self.config = config; self.localBatch = localBatch; self.steps = steps; self.warmup = warmup
    }

    public func run(_ comm: Communicator) throws -> Result? {
        BLASThreads.set(1)   // 1 BLAS thread per rank, np=1 included, so efficiencies compare like with like
        var rng = RNG.derived(17, UInt64(comm.rank))
        let shape = [localBatch] + config.inputShape
        let x = Tensor(uninitialized: shape), y = Tensor(uninitialized: shape)
        for i in 0..<x.count { x.data[i] = rng.uniformFloat(); y.data[i] = rng.uniformFloat() }
        let source = InMemoryBatchSource(inputs: x, targets: y, rank: 0, worldSize: 1, localBatch: localBatch, seed: 1, shuffle: false)
        let model = try Autoencoder(config: config, seed: 1)
        let settings = TrainerSettings(globalBatch: localBatch * comm.size, steps: warmup + steps, schedule: "constant:1e-5")
        let trainer = try AutoencoderTrainer(model: model, group: comm, source: source, settings: settings)
        _ = trainer.synchronizeFromRoot(position: source.position)
        trainer.measureWaiting = true
        var reports: [StepReport] = []
        for i in 0..<(warmup + steps) {
            let r = try trainer.step()
            if i >= warmup { reports.append(r) }
        }
        // The slowest rank sets the pace: take each step's maximum over ranks.
        var times = reports.flatMap { [$0.seconds, $0.allreduceSeconds, $0.waitSeconds] }
        times.withUnsafeMutableBufferPointer { comm.maximum($0.baseAddress!, count: $0.count) }
        guard comm.isRoot else { return nil }
        func column(_ k: Int) -> Double { median(stride(from: k, to: times.count, by: 3).map { times[$0] }) }
        let step = column(0), reduce = column(1), wait = column(2)
        return Result(ranks: comm.size, local_batch: localBatch, global_batch: localBatch * comm.size,
                      objective: config.objective.rawValue, blas_threads: BLASThreads.current,
                      step_seconds: step, samples_per_second: Double(localBatch * comm.size) / step,
                      allreduce_seconds: reduce, wait_seconds: wait, allreduce_share: reduce / step, wait_share: wait / step,
                      gradient_floats: model.parameterCount, steps: steps)
    }
}
