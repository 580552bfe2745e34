/// Batches drawn from samples already in memory (the circle experiment's 70 frames, tests), with the
/// same DistributedSampler semantics as `BatchLoader`: sample i is window (0, i).
public final class InMemoryBatchSource: BatchSource {
    public let inputs: Tensor
    public let targets: Tensor
    public let sampler: WindowSampler
    public let localBatch: Int
    public let stepsPerEpoch: Int
    public private(set) var position = LoaderPosition(epoch: 0, step: 0)
    private var epochIndices: (epoch: Int, indices: [Int]) = (-1, [])

    /// `inputs` N×…; `targets` N×… (the reference objective's Y), or the inputs themselves.
    public init(inputs: Tensor, targets: Tensor? = nil, rank: Int, worldSize: Int, localBatch: Int, seed: UInt64,
                shuffle: Bool = true) {
        precondition(localBatch >= 1 && inputs.shape[0] >= 1)
        self.inputs = inputs
        self.targets = targets ?? inputs
        self.localBatch = localBatch
        sampler = WindowSampler(windows: (0..<inputs.shape[0]).map { Window(trajectory: 0, t: $0) },
                                rank: rank, worldSize: worldSize, shuffle: shuffle, tail: .pad, seed: seed)
        stepsPerEpoch = max(1, (sampler.samplesPerRank + localBatch - 1) / localBatch)
    }

    public func seek(to position: LoaderPosition) throws { self.position = position }

    public func nextBatch() throws -> Batch {
        if epochIndices.epoch != position.epoch { epochIndices = (position.epoch, sampler.indices(epoch: position.epoch)) }
        let all = epochIndices.indices
        let chosen = Array(all[(position.step * localBatch)..<min(all.count, (position.step + 1) * localBatch)])
        let batch = Batch(x: gather(inputs, chosen), y: gather(targets, chosen),
                          windows: chosen.map { Window(trajectory: 0, t: $0) }, position: position)
        position.step += 1
        if position.step == stepsPerEpoch { position = LoaderPosition(epoch: position.epoch + 1, step: 0) }
        return batch
    }

    private func gather(_ t: Tensor, _ rows: [Int]) -> Tensor {
        let per = t.count / t.shape[0]
        let out = Tensor(uninitialized: [rows.count] + t.shape.dropFirst())
        for (i, r) in rows.enumerated() { (out.data + i * per).update(from: t.data + r * per, count: per) }
        return out
    }
}
