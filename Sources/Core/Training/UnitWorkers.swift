/// The deterministic mode's threads in phase 2 (docs/distributed.md §Deterministic): the trainer's
/// model takes the first thread, and every further thread a model of its own, built once from the
/// same configuration, with the trainer's weights copied in before each use and exact sums of its
/// own. Each model runs single-threaded, so a unit's result is the same bits on whichever thread
/// computed it, and the threads' sums are integers: added together, the same total however the
/// units were shared out. (One thread for all units made a deterministic phase-2 step about twice
/// as long as a default one on a 2-core machine.)
final class UnitWorkers {
    private let model: LatentDynamics
    private let extra: [(model: LatentDynamics, sums: ExactGradients)]

    /// `make`: a model of `model`'s configuration (nil: the units run on `model` alone). One per
    /// thread of `model.budget` beyond the first.
    init(model: LatentDynamics, make: (() throws -> LatentDynamics)?, unit: Int) throws {
        self.model = model
        var extra: [(model: LatentDynamics, sums: ExactGradients)] = []
        if let make {
            for _ in 1..<Swift.max(1, model.budget.threads) {
                let worker = try make()
                precondition(worker.store.parameterCount == model.store.parameterCount && worker.dimension == model.dimension,
                             "UnitWorkers: a worker model of \(worker.store.parameterCount) parameters for one of \(model.store.parameterCount)")
                worker.budget = .serial
                extra.append((worker, ExactGradients(parameterCount: model.store.parameterCount, unit: unit)))
            }
        }
        self.extra = extra
    }

    /// Runs `body(index, model, sums)` for every index in 0..<count, the indices claimed by up to
    /// `model.budget.threads` threads, each with its own single-threaded model (holding the trainer's
    /// current weights and zero gradients) and, with `exact`, its own sums, which are added into
    /// `exact` at the end (the first thread's sums are `exact` itself).
    func run(_ count: Int, into exact: ExactGradients?,
             _ body: (_ index: Int, _ model: LatentDynamics, _ sums: ExactGradients?) -> Void) {
        let saved = model.budget
        let threads = Swift.max(1, Swift.min(saved.threads, extra.count + 1, count))
        let used = extra.prefix(threads - 1)
        let n = model.store.parameterCount
        for w in used {
            w.model.store.values.update(from: model.store.values, count: n)
            w.model.store.zeroGradients()
            w.sums.zero()
        }
        model.budget = .serial
        defer { model.budget = saved }
        // In sections of at most 2¹⁵ indices (the pool runs a larger one on one thread).
        for first in stride(from: 0, to: count, by: 1 << 15) {
            parallelForClaimed(Swift.min(1 << 15, count - first), threads: threads) { i, slot in
                if slot == 0 {
                    body(first + i, model, exact)
                } else {
                    body(first + i, used[slot - 1].model, exact == nil ? nil : used[slot - 1].sums)
                }
            }
        }
        if let exact { for w in used { exact.add(w.sums) } }
    }
}
