/// One rank's batch of latent pairs: flat row-major Float arrays.
public struct LatentBatch: Sendable {
    /// [count, d]: z_t of each pair.
    public var start: [Float]
    /// `steps` arrays [count, d]: z_{t+1}, …, z_{t+k} (one array for the default k = 1).
    public var targets: [[Float]]
    /// Which pairs, in row order.
    public var pairs: [Window]
    /// Where this batch was drawn: save `position` of the sampler (the next batch) in a checkpoint.
    public var position: LoaderPosition

    /// Rows in this batch: the local batch, or fewer in an epoch's last step.
    public var count: Int { pairs.count }
}

/// Per-rank batches of latent training pairs with the phase-1 sampler's rules (`WindowSampler`):
/// each epoch one permutation of the split's canonical pair list, seeded by seed + epoch and
/// identical on every rank; global batch s is the permutation's s-th run of localBatch·worldSize
/// pairs and rank r takes every worldSize-th of it, so every rank runs the same number of steps.
/// The batches are a function of (seed, epoch, step, world size, local batch, steps) alone: the
/// same arguments give bit-identical batches, and `seek(to:)` to a saved `position` replays them.
public final class LatentPairSampler {
    public let dataset: LatentDataset
    public let split: SplitName
    /// k: targets per pair.
    public let steps: Int
    public let sampler: WindowSampler
    public let localBatch: Int
    public let stepsPerEpoch: Int
    /// Position of the next batch `nextBatch()` returns.
    public private(set) var position: LoaderPosition
    private var epochIndices: (epoch: Int, indices: [Int]) = (-1, [])

    /// `config.tail` `.pad` (default) repeats pairs from the permutation's start so every rank gets
    /// the same count; `.drop` drops the last (pairs mod worldSize). `dropLastBatch` skips each
    /// epoch's smaller last batch.
    public init(dataset: LatentDataset, split: SplitName = .train, steps: Int = 1, rank: Int, worldSize: Int,
                localBatch: Int, seed: UInt64, config: SamplerConfig = SamplerConfig(),
                start: LoaderPosition = LoaderPosition(epoch: 0, step: 0)) throws {
        guard worldSize >= 1, rank >= 0, rank < worldSize else {
            throw DatasetError(.invalidArgument, "LatentPairSampler: rank \(rank) is not in 0..<\(worldSize)")
        }
        guard localBatch >= 1 else { throw DatasetError(.invalidArgument, "LatentPairSampler: local batch must be ≥ 1, got \(localBatch)") }
        guard steps >= 1 else { throw DatasetError(.invalidArgument, "LatentPairSampler: steps (k) must be ≥ 1, got \(steps)") }
        let pairs = dataset.pairStarts(of: split, steps: steps)
        sampler = WindowSampler(windows: pairs, rank: rank, worldSize: worldSize, shuffle: config.shuffle,
                                tail: config.tail, seed: seed, alignment: config.alignment)
        let per = sampler.samplesPerRank
        stepsPerEpoch = config.dropLastBatch ? per / localBatch : (per + localBatch - 1) / localBatch
        guard stepsPerEpoch > 0 else {
            throw DatasetError(.invalidArgument, "LatentPairSampler: the \(split.rawValue) split of \(dataset.directory) has \(pairs.count) pairs with \(steps)-step targets; over \(worldSize) ranks that is \(per) per rank, which gives no \(config.dropLastBatch ? "full " : "")batch of \(localBatch) — use fewer ranks, a smaller batch, or keep the last batch")
        }
        self.dataset = dataset; self.split = split; self.steps = steps; self.localBatch = localBatch
        position = start
        try check(start)
    }

    /// Pairs per epoch over all ranks (before padding).
    public var pairCount: Int { sampler.windows.count }

    /// Jumps to `position` (e.g. restored from a checkpoint): the next batch is the one drawn there.
    public func seek(to position: LoaderPosition) throws {
        try check(position)
        self.position = position
    }

    /// The batch at `position`, then advances (after the epoch's last step: step 0 of the next epoch).
    public func nextBatch() -> LatentBatch {
        let batch = self.batch(at: position)
        position.step += 1
        if position.step == stepsPerEpoch { position = LoaderPosition(epoch: position.epoch + 1, step: 0) }
        return batch
    }

    /// The batch drawn at `p`, without moving (a pure function of `p`).
    public func batch(at p: LoaderPosition) -> LatentBatch {
        if epochIndices.epoch != p.epoch { epochIndices = (p.epoch, sampler.indices(epoch: p.epoch)) }
        let all = epochIndices.indices
        let chosen = all[(p.step * localBatch)..<min(all.count, (p.step + 1) * localBatch)].map { sampler.windows[$0] }
        let (start, targets) = dataset.gather(chosen, steps: steps)
        return LatentBatch(start: start, targets: targets, pairs: chosen, position: p)
    }

    private func check(_ p: LoaderPosition) throws {
        guard p.epoch >= 0, p.step >= 0, p.step < stepsPerEpoch else {
            throw DatasetError(.invalidArgument, "LatentPairSampler: position \(p) is invalid (\(stepsPerEpoch) steps per epoch) — was the checkpoint written with a different batch size, world size or step count?")
        }
    }
}
