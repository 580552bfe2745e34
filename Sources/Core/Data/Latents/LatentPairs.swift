/// The training and validation pairs of the latent ODE (docs/cpae-method.md §4.2): a start z_t and
/// its targets z_{t+1} … z_{t+k} from one trajectory. A pair is named by `Window(trajectory: id, t:)`.
extension LatentDataset {
    /// Every pair start of `split` for k = `steps` targets, in canonical order (the split's
    /// trajectory order, then t): t = 0 … count−1−k, so 58 pairs per 59-latent trajectory for k = 1.
    /// For a dataset split by frame ranges, only pairs whose frames all lie in the split's range.
    /// This order is the index space the sampler permutes: identical on every rank.
    public func pairStarts(of split: SplitName, steps: Int = 1) -> [Window] {
        precondition(steps >= 1, "a pair needs at least one target step (got \(steps))")
        let range = frameRange(of: split)
        var out: [Window] = []
        for z in trajectories(split) where z.count > steps {
            for t in 0...(z.count - 1 - steps) {
                // Latent t+k encodes frames t+k and t+k+1: all of first…last must be in the range.
                if let range, !(range.contains(z.frame(ofLatent: t)) && range.contains(z.frame(ofLatent: t + steps) + 1)) { continue }
                out.append(Window(trajectory: z.id, t: t))
            }
        }
        return out
    }

    /// Flat row-major arrays for `pairs`: start [n, d] (z_t) and, for j = 1…steps, targets[j−1] [n, d] (z_{t+j}).
    public func gather(_ pairs: [Window], steps: Int = 1) -> (start: [Float], targets: [[Float]]) {
        let d = dimension
        var start = [Float](repeating: 0, count: pairs.count * d)
        var targets = [[Float]](repeating: [Float](repeating: 0, count: pairs.count * d), count: steps)
        for (n, p) in pairs.enumerated() {
            guard let z = trajectory(id: p.trajectory) else { preconditionFailure("pair \(p) names no trajectory of \(directory)") }
            precondition(p.t >= 0 && p.t + steps < z.count, "pair \(p) with \(steps) steps outside trajectory \(z.id) of \(z.count) latents")
            z.latents.withUnsafeBufferPointer { src in
                start.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + n * d).update(from: src.baseAddress! + p.t * d, count: d)
                }
                for j in 0..<steps {
                    targets[j].withUnsafeMutableBufferPointer { dst in
                        (dst.baseAddress! + n * d).update(from: src.baseAddress! + (p.t + j + 1) * d, count: d)
                    }
                }
            }
        }
        return (start, targets)
    }
}

/// A fixed set of pairs with their arrays, e.g. the validation split for the validation loss.
/// With `worldSize` > 1, rank r holds pairs r, r + worldSize, … of the canonical order (no padding,
/// so summing per-rank loss sums and counts over ranks gives the mean over every pair exactly once).
public struct LatentPairSet: Sendable {
    public let split: SplitName
    public let steps: Int
    public let dimension: Int
    public let pairs: [Window]
    /// [count, d] starts z_t.
    public let start: [Float]
    /// `steps` arrays [count, d]: z_{t+1}, …, z_{t+k}.
    public let targets: [[Float]]
    /// Pairs of the whole split over all ranks.
    public let globalCount: Int

    public var count: Int { pairs.count }

    public init(dataset: LatentDataset, split: SplitName = .validation, steps: Int = 1, rank: Int = 0, worldSize: Int = 1) throws {
        guard steps >= 1 else { throw DatasetError(.invalidArgument, "LatentPairSet: steps must be ≥ 1, got \(steps)") }
        guard worldSize >= 1, (0..<worldSize).contains(rank) else {
            throw DatasetError(.invalidArgument, "LatentPairSet: rank \(rank) is not in 0..<\(worldSize)")
        }
        let all = dataset.pairStarts(of: split, steps: steps)
        let mine = Array(stride(from: rank, to: all.count, by: worldSize).map { all[$0] })
        let (start, targets) = dataset.gather(mine, steps: steps)
        self.split = split; self.steps = steps; self.dimension = dataset.dimension
        self.pairs = mine; self.start = start; self.targets = targets; self.globalCount = all.count
    }
}
