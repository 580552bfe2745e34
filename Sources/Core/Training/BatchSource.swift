/// A per-rank stream of batches with DistributedSampler semantics: every rank sees the same number
/// of steps per epoch, so no rank ever waits in a collective for a peer that ran out of data.
/// `BatchLoader` (shards on disk) and `InMemoryBatchSource` (frames generated in-process) provide it.
public protocol BatchSource: AnyObject {
    var stepsPerEpoch: Int { get }
    /// Position of the next batch; saved in checkpoints.
    var position: LoaderPosition { get }
    func seek(to position: LoaderPosition) throws
    func nextBatch() throws -> Batch
}

extension BatchLoader: BatchSource {}
