/// The one collective of a data-parallel step, shared by both phases' trainers (the autoencoder's
/// and the latent ODE's): the flat gradient buffer, with the step's loss terms and a non-finite
/// count packed at its tail (llm.c style), summed over the replicas in ONE allreduce and scaled once
/// by 1/replicas — gradient and terms averaged, the count left a count. The reduced buffer is the same
/// on every rank, so the non-finite verdict is too; only on failure does a second collective find a
/// culprit rank to name (docs/distributed.md §Step, §NaN).
public struct GradientExchange {
    public let group: ReplicaGroup
    public let store: ParameterStore
    public let termNames: [String]
    /// Benchmarks only: a barrier before the allreduce separates waiting for the slowest rank from
    /// communication.
    public var measureWaiting = false

    public init(group: ReplicaGroup, store: ParameterStore, termNames: [String]) {
        self.group = group
        self.store = store
        self.termNames = termNames
        _ = store.gradientTail(termNames.count + 1)   // reserve the tail once the model is built
    }

    public struct Outcome {
        /// The loss terms averaged over the replicas (as Float on the way: ~7 digits, plenty for a log).
        public var terms: [Double]
        /// Replicas whose gradient or terms held a NaN or infinity this step (0 on every rank alike).
        public var nonFiniteReplicas: Int
        /// Whether this replica's own contribution was finite (names the culprit on failure).
        public var locallyFinite: Bool
        public var allreduceSeconds: Double
        public var waitSeconds: Double
    }

    /// Sums and averages this replica's accumulated gradient and `terms` with every other replica's.
    public func reduce(terms: [Double]) -> Outcome {
        precondition(terms.count == termNames.count, "GradientExchange: \(terms.count) terms for \(termNames.count) names")
        let n = store.parameterCount
        let tail = store.gradientTail(termNames.count + 1)
        let averaged = n + termNames.count   // the gradient and the terms; not the count
        for (i, t) in terms.enumerated() { tail[i] = Float(t) }
        // Judged on the Float values that travel, so a Double term beyond Float's range counts too.
        let locallyFinite = !containsNonFinite(store.gradients, count: averaged)
        tail[termNames.count] = locallyFinite ? 0 : 1
        var waitSeconds = 0.0
        if measureWaiting && group.replicas > 1 { waitSeconds = Stopwatch.time { group.synchronize() } }
        let watch = Stopwatch()
        if group.replicas > 1 {
            group.sum(store.gradients, count: averaged + 1)
            let scale = 1 / Float(group.replicas)
            let g = store.gradients
            for i in 0..<averaged { g[i] *= scale }
        }
        let allreduceSeconds = watch.seconds
        return Outcome(terms: (0..<termNames.count).map { Double(tail[$0]) }, nonFiniteReplicas: Int(tail[termNames.count]),
                       locallyFinite: locallyFinite, allreduceSeconds: allreduceSeconds, waitSeconds: waitSeconds)
    }

    /// The deterministic mode's exchange (docs/distributed.md §Deterministic): the gradient is
    /// `exact`'s per-sample sums, summed over the replicas as integers (exact, so the same bits for
    /// any rank count) and rounded once into the store's gradient buffer. The terms were already
    /// summed exactly over the global batch, so they pass through. Already a global-batch mean: no
    /// 1/replicas scaling.
    public func reduce(globalTerms terms: [Double], exact: ExactGradients) -> Outcome {
        precondition(terms.count == termNames.count, "GradientExchange: \(terms.count) terms for \(termNames.count) names")
        let locallyFinite = exact.refused == 0 && terms.allSatisfy(\.isFinite)
        var waitSeconds = 0.0
        if measureWaiting && group.replicas > 1 { waitSeconds = Stopwatch.time { group.synchronize() } }
        let watch = Stopwatch()
        let bad = exact.sumOverReplicas(group, bad: !locallyFinite)
        exact.write(into: store.gradients)
        return Outcome(terms: terms, nonFiniteReplicas: bad, locallyFinite: locallyFinite,
                       allreduceSeconds: watch.seconds, waitSeconds: waitSeconds)
    }

    /// What went non-finite and where, e.g. "loss term latent (on rank 1)". A collective: every rank
    /// calls it once the verdict (the same on every rank) is that something was not finite.
    public func describeNonFinite(_ outcome: Outcome, terms: [(String, Double)]) -> String {
        var culprit = [outcome.locallyFinite ? -1 : Double(group.rank)]
        culprit.withUnsafeMutableBufferPointer { group.maximum($0.baseAddress!, count: 1) }
        let bad = terms.filter { !$0.1.isFinite }.map { $0.0 }
        let others = outcome.nonFiniteReplicas > 1 ? " and \(outcome.nonFiniteReplicas - 1) other rank(s))" : ")"
        return (bad.isEmpty ? "gradient" : "loss term " + bad.joined(separator: ", "))
            + (culprit[0] >= 0 ? " (on rank \(Int(culprit[0]))" + others : "")
    }

    /// Makes every replica identical to rank 0: parameters, buffers (BatchNorm statistics), both Adam
    /// moments, then the counters and sampler position as one typed value, exactly. Returns rank 0's state.
    public func synchronizeFromRoot(optimizer: Adam, state: RunState) -> RunState {
        group.broadcast(floats: store.values, count: store.parameterCount, root: 0)
        group.broadcast(floats: store.bufferValues, count: store.bufferCount, root: 0)
        group.broadcast(floats: optimizer.firstMoment, count: optimizer.parameterCount, root: 0)
        group.broadcast(floats: optimizer.secondMoment, count: optimizer.parameterCount, root: 0)
        let synced = group.broadcast(value: state, root: 0)
        optimizer.step = synced.optimizerStep
        return synced
    }
}

/// What a run's ranks must agree on besides the tensors, broadcast once from rank 0 as its bytes
/// (plain integers: exact at any size).
public struct RunState: BitwiseCopyable {
    public var optimizerStep: Int
    public var stepsTaken: Int
    public var epoch: Int
    public var batchInEpoch: Int

    public init(optimizerStep: Int, stepsTaken: Int, epoch: Int, batchInEpoch: Int) {
        self.optimizerStep = optimizerStep; self.stepsTaken = stepsTaken; self.epoch = epoch; self.batchInEpoch = batchInEpoch
    }
}
