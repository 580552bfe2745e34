import Core
import Distributed
import Foundation

/// One rank's side of `cpae-mpi bench data`'s per-rank figures: under `mpirun -np N`, every rank
/// opens the same dataset and runs the training loader over its own share (its rank of N in the
/// sampler, the loader's 25% cache, no prefetch thread) at the same time as the others, as a
/// data-parallel job does; rank 0 returns each rank's frames/s. Read against the per-rank compute
/// rate, this sizes the I/O a cluster node needs: ranks per node × frames/s per rank.
public struct DataRankWorker {
    public struct Result: Codable, Sendable, Equatable {
        public var ranks: Int
        /// Each rank's frames/s through decode + batch assembly (2 frames per window), by rank.
        public var frames_per_second_per_rank: [Double]
        /// The slowest rank's (what a synchronous step waits for).
        public var slowest_frames_per_second: Double
        /// All ranks together.
        public var total_frames_per_second: Double
        public var local_batch: Int
        public var batches: Int
        public var repeats: Int

        /// Combines the per-rank rates.
        public init(ranks: Int, rates: [Double], localBatch: Int, batches: Int, repeats: Int) {
            self.ranks = ranks; frames_per_second_per_rank = rates
            slowest_frames_per_second = rates.min() ?? 0; total_frames_per_second = rates.reduce(0, +)
            local_batch = localBatch; self.batches = batches; self.repeats = repeats
        }
    }

    public var directory: String
    public var localBatch = 16
    public var batches = 24
    public var repeats = 5

    public init(directory: String) { self.directory = directory }

    public func run(_ comm: Communicator) throws -> Result? {
        let reader = try DatasetReader(directory: directory)
        let cached = max(1, reader.trajectoryIDs.count / 4)
        let loader = try BatchLoader(reader: reader, split: .train, rank: comm.rank, worldSize: comm.size, localBatch: localBatch,
                                     seed: 1, cacheCapacity: .trajectories(cached), prefetch: 0)
        // Warm the cache to its steady state, then start the timed blocks together.
        for _ in 0..<min(batches, loader.stepsPerEpoch) { _ = try loader.nextBatch() }
        try comm.barrier()
        let seconds = median(try (0..<repeats).map { _ in
            try Stopwatch.time { for _ in 0..<batches { _ = try loader.nextBatch() } }
        })
        let rate = 2 * Double(batches * localBatch) / seconds
        let rates = try comm.allgather(rate)
        guard comm.isRoot else { return nil }
        return Result(ranks: comm.size, rates: rates, localBatch: localBatch, batches: batches, repeats: repeats)
    }
}
