import Core
import Distributed
import Foundation

/// How the ranks of a `generate` or `ingest` job write one dataset directory together
/// (docs/distributed.md §Data preparation): rank 0 prepares the directory, every rank writes the
/// shards of its `DatasetPart` in rounds of one shard each (meeting after each round so rank 0
/// can report the job's progress), rank 0 gathers every rank's shard entries and writes
/// manifest.json last. The directory is byte for byte what one rank writes alone.
struct DatasetWriteAcrossRanks {
    let comm: Communicator
    let directory: String
    let description: DatasetDescription
    let trajectories: Int
    let trajectoriesPerShard: Int
    /// Everything the ranks must share: the flags and what each rank found as input. Compared
    /// before anything is written — ranks started with different flags, or seeing different files
    /// (a path that is not on shared storage), would otherwise write a mixed directory.
    let job: String
    let compressionLevel: Int32 = 3

    var part: DatasetPart { DatasetPart(rank: comm.rank, of: comm.size) }

    /// Writes the dataset: `makeShard(ids, consume)` makes the trajectories `ids` of one of this
    /// rank's shards and hands them to `consume` in id order. An error on any rank ends the job with
    /// its message (the commands run under `Communicator.runOrAbort`).
    func write(splits: DatasetSplits, progress: GenerationProgress,
               shard makeShard: (_ ids: Range<Int>, _ consume: (FrameSequence) throws -> Void) throws -> Void) throws {
        try agree()
        if comm.isRoot { try DatasetWriter.prepare(directory: directory) }
        // Nobody writes a shard before rank 0 has checked the directory (a failure there aborts the job).
        try comm.barrier()
        let writer = try DatasetWriter(directory: directory, description: description, trajectoriesPerShard: trajectoriesPerShard,
                                       compressionLevel: compressionLevel, part: part)
        try inRounds(progress: progress) { ids in try makeShard(ids) { try writer.append($0) } }
        let written = try writer.finishPart()
        // Every rank's shard entries to rank 0 (allgather: the one string collective there is).
        let lists = try comm.allgather(try JSONCoding.string(written))
        if comm.isRoot {
            var shards: [DatasetPart.WrittenShard] = []
            for (rank, text) in lists.enumerated() {
                shards += try JSONCoding.decode([DatasetPart.WrittenShard].self, from: Array(text.utf8), file: "rank \(rank)'s shard list")
            }
            try DatasetWriter.writeManifest(directory: directory, description: description, splits: splits,
                                            compressionLevel: compressionLevel, shards: shards)
        }
    }

    /// Every rank throws `RankDisagreement` (naming the ranks) unless all hold the same `job`.
    func agree() throws {
        try comm.agree(on: SHA256.prefix64(job + "\n\(directory)\n\(trajectories)\n\(trajectoriesPerShard)"),
                       what: "dataset job (flags and input files)",
                       hint: "every rank must get the same flags and see the same input files (on storage all nodes share)")
    }

    /// Runs `work` on each of this rank's shards' ids, one shard per round; after each round the
    /// ranks add up the trajectories done and rank 0 reports them (every rank runs the same number
    /// of rounds, so the sums always meet).
    func inRounds(progress: GenerationProgress, _ work: (Range<Int>) throws -> Void) throws {
        let part = self.part
        var done = 0
        for round in 0..<part.rounds(trajectories: trajectories, perShard: trajectoriesPerShard) {
            if let shard = part.shard(inRound: round, trajectories: trajectories, perShard: trajectoriesPerShard) {
                let ids = DatasetPart.trajectories(ofShard: shard, trajectories: trajectories, perShard: trajectoriesPerShard)
                try work(ids)
                done += ids.count
            }
            progress.update(try comm.allreduce(done, .sum), trajectories)
        }
    }

    /// Work only rank 0 can do (a stream on its stdin, a folder layout with one index file): the
    /// other ranks wait for it without spinning; a failure on rank 0 aborts them.
    static func onRootAlone(_ comm: Communicator, what: String, _ body: () throws -> Void) throws {
        if comm.isRoot {
            if comm.size > 1 {
                Communicator.writeToStderr("cpae-mpi: \(what) is written by rank 0 alone; the other \(comm.size - 1) rank(s) wait\n")
            }
            try body()
        }
        _ = try comm.idleBarrier()
    }
}
