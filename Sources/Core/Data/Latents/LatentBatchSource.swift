/// A per-rank stream of latent-pair batches for the phase-2 trainer: `LatentPairSampler` (latent
/// shards on disk, the phase-1 sampler's rules) or `InMemoryLatentPairs` (latents made in-process,
/// e.g. the circle experiment). Every rank sees the same number of steps per epoch.
public protocol LatentBatchSource: AnyObject {
    var stepsPerEpoch: Int { get }
    /// Pairs per epoch over all ranks.
    var pairCount: Int { get }
    /// Position of the next batch; saved in checkpoints.
    var position: LoaderPosition { get }
    func seek(to position: LoaderPosition) throws
    func nextBatch() -> LatentBatch
}

extension LatentPairSampler: LatentBatchSource {}

/// Every pair (z_t, z_{t+1}, …, z_{t+k}) of some latent paths as one full batch per step, in a fixed
/// order (the reference's full-batch circle fit). One rank.
public final class InMemoryLatentPairs: LatentBatchSource {
    public let batch: LatentBatch
    public private(set) var position = LoaderPosition(epoch: 0, step: 0)
    public var stepsPerEpoch: Int { 1 }
    public var pairCount: Int { batch.count }

    /// `paths`: latent trajectories, each T × d; `steps`: targets per start (k).
    public init(paths: [[[Float]]], steps: Int = 1) {
        precondition(steps >= 1, "InMemoryLatentPairs: steps must be ≥ 1")
        var start: [Float] = [], targets = [[Float]](repeating: [], count: steps), pairs: [Window] = []
        for (i, path) in paths.enumerated() where path.count > steps {
            for t in 0..<(path.count - steps) {
                start += path[t]
                for j in 0..<steps { targets[j] += path[t + j + 1] }
                pairs.append(Window(trajectory: i, t: t))
            }
        }
        precondition(!pairs.isEmpty, "InMemoryLatentPairs: no path is longer than \(steps) latents")
        batch = LatentBatch(start: start, targets: targets, pairs: pairs, position: position)
    }

    public func seek(to position: LoaderPosition) throws {
        guard position.step == 0, position.epoch >= 0 else {
            throw DatasetError(.invalidArgument, "InMemoryLatentPairs: position \(position) is invalid (one full-batch step per epoch)")
        }
        self.position = position
    }

    public func nextBatch() -> LatentBatch {
        var b = batch
        b.position = position
        position = LoaderPosition(epoch: position.epoch + 1, step: 0)
        return b
    }
}
