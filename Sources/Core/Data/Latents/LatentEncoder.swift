import Foundation

/// Encodes frame trajectories into latent trajectories with a trained autoencoder in eval mode
/// (BatchNorm uses its running statistics, docs/cpae-method.md §4.1): every overlapping pair
/// (t, t+1), t = 0…T−2, gives one latent, so 59 latents for 60 frames.
///
/// Bit-identical for any rank count and thread budget: the pairs of a shard's trajectories are
/// encoded in consecutive runs of `pairsPerBatch` in shard order, so the batches depend only on the
/// shard, and each batch runs on ONE single-threaded replica. A rank's thread budget T becomes T
/// replicas encoding T batches at once (data parallel, like ranks) rather than one model splitting a
/// batch over threads, because that split changes the GEMMs' row counts and so the float rounding.
/// Trajectories are decoded as their pairs are reached and dropped once their last pair is encoded.
public final class LatentEncoder {
    /// One replica per worker thread, each with a serial compute budget.
    public let replicas: [Autoencoder]
    public let pairsPerBatch: Int

    /// `replicas`: the same checkpoint loaded once per worker (`Autoencoder.load` T times).
    public init(replicas: [Autoencoder], pairsPerBatch: Int) throws {
        guard pairsPerBatch >= 1 else { throw DatasetError(.invalidArgument, "LatentEncoder: pairs per batch must be ≥ 1, got \(pairsPerBatch)") }
        guard let first = replicas.first else { throw DatasetError(.invalidArgument, "LatentEncoder: needs at least one model replica") }
        guard replicas.allSatisfy({ $0.config == first.config }) else {
            throw DatasetError(.invalidArgument, "LatentEncoder: the replicas are different models")
        }
        for r in replicas { r.computeBudget = .serial }
        self.replicas = replicas
        self.pairsPerBatch = pairsPerBatch
    }

    public var config: ModelConfig { replicas[0].config }

    /// Every trajectory of shard `index` of `reader` (in shard order), each with its split and the
    /// dataset's frame interval; the states of each latent's first frame come along.
    public func encode(shard index: Int, of reader: DatasetReader) throws -> [LatentTrajectory] {
        let d = reader.description
        let shard = reader.shards[index]
        guard d.frameCount >= 2 else {
            throw DatasetError(.invalidArgument, "\(shard.path): trajectories have \(d.frameCount) frame(s); a latent needs a pair of frames (t, t+1)")
        }
        let c = config
        guard [d.channels, d.height, 2 * d.width] == c.inputShape else {
            throw DatasetError(.invalidArgument, "\(reader.directory): frames are \(d.channels)×\(d.height)×\(d.width), so pairs are \(d.channels)×\(d.height)×\(2 * d.width), but the autoencoder takes \(c.inputShape.map(String.init).joined(separator: "×")) — encode the dataset the model was trained on (or pass the matching --data)")
        }
        let splitOf = LatentDataset.splitMap(reader.splits)
        let count = d.frameCount - 1, dim = c.latent, s = d.stateNames.count
        let context = DecompressionContext()
        var meta: [(id: Int, states: [Double])] = []
        var latents: [[Float]] = []
        var pending: [(sequence: FrameSequence, t: Int, slot: Int)] = []
        // A round is one batch per replica: a multiple of pairsPerBatch, so batch boundaries do not
        // depend on the replica count.
        let round = pairsPerBatch * replicas.count

        func flush() {
            guard !pending.isEmpty else { return }
            let batches = (pending.count + pairsPerBatch - 1) / pairsPerBatch
            var outputs = [Tensor?](repeating: nil, count: batches)
            let items = pending
            outputs.withUnsafeMutableBufferPointer { out in
                let slots = out
                DispatchQueue.concurrentPerform(iterations: min(batches, replicas.count)) { w in
                    // Worker w encodes batches w, w + replicas, … with its own replica.
                    for b in stride(from: w, to: batches, by: replicas.count) {
                        let run = items[(b * pairsPerBatch)..<min(items.count, (b + 1) * pairsPerBatch)]
                        slots[b] = replicas[w].encode(PairAssembler.assemble(run.map { ($0.sequence, $0.t) }), mode: .eval)
                    }
                }
            }
            for (row, item) in items.enumerated() {
                let z = outputs[row / pairsPerBatch]!
                latents[item.slot].withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + item.t * dim).update(from: z.data + (row % pairsPerBatch) * dim, count: dim)
                }
            }
            pending.removeAll(keepingCapacity: true)
        }

        for i in 0..<shard.trajectoryCount {
            let sequence = try shard.trajectory(at: i, context: context)
            latents.append([Float](repeating: 0, count: count * dim))
            meta.append((sequence.id, Array(sequence.states.prefix(count * s))))
            for t in 0..<count {
                pending.append((sequence, t, i))
                if pending.count == round { flush() }
            }
        }
        flush()
        return meta.indices.map { i in
            LatentTrajectory(id: meta[i].id, split: splitOf[meta[i].id], count: count, dimension: dim, latents: latents[i],
                             firstFrame: 0, dt: d.dt, stateDimension: s, states: meta[i].states)
        }
    }
}
