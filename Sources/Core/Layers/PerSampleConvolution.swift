/// How a convolution layer runs in the deterministic mode (docs/distributed.md §Deterministic): one
/// unit (`ExactGradients.unit` consecutive samples, 1 by default) per engine call, so every unit is
/// computed by GEMMs of the same shapes (which round the same) whatever batch, rank count or thread
/// count it comes with, and each unit's weight gradient is folded into the exact sums on its own.
/// The layer's threads take whole units — each claimed by whichever thread is free, since every unit
/// writes its own output or gradient buffer — each thread on a scratch of its own running
/// single-threaded, so the result does not depend on how many there are or who ran what.
extension ConvScratch {
    /// Runs `body(first, scratch)` for every unit of `unit` samples (`first` its first sample),
    /// spread over up to `budget.threads` threads. `prepare` (the products' weight preparation,
    /// `ConvEngine.prepareWeight`; nil when the products need no weight) runs first, once, with all
    /// the threads, and every worker reads what it made (`sharedWeight`): the weight does not change
    /// within a layer call. (Each worker preparing its own copy on its first unit cost about 1.3% of
    /// a 2-thread deterministic step.)
    func forEachUnit(_ batch: Int, unit: Int, prepare: ((ConvScratch) -> Void)?,
                     _ body: (_ first: Int, _ scratch: ConvScratch) -> Void) {
        precondition(batch % unit == 0, "deterministic mode: a batch of \(batch) is not whole units of \(unit)")
        let units = batch / unit
        let workers = Swift.max(1, Swift.min(budget.threads, units))
        let saved = budget
        let scratches = workerScratches(workers)
        if let prepare {
            prepare(self)
            let shared = (weight: weight.pointer, transposed: transposedWeight.pointer)
            for s in scratches { s.sharedWeight = shared; s.weightPrepared = true }
        }
        for s in scratches { s.budget = .serial }
        defer {
            for s in scratches { s.weightPrepared = false; s.sharedWeight = nil }
            budget = saved
        }
        parallelForClaimed(units, threads: workers) { u, slot in body(u * unit, scratches[slot]) }
    }

    /// `forEachUnit` for a backward pass: `body` WRITES one unit's weight gradient into the buffer it
    /// is given (the engines' `overwrite`: no clearing pass, ~1% of a deterministic step) and ADDS its
    /// bias gradient into the zeroed one (one pair per unit); then every unit's are folded into `exact`
    /// together, block by block (`ExactGradients.fold(samples:…)`: the limbs are read and written
    /// once per layer call, not once per unit — folding unit by unit, the fold alone cost +30–40%).
    func foldEachUnit(_ batch: Int, into exact: ExactGradients, weight: Param, bias: Param?, prepare: ((ConvScratch) -> Void)?,
                      _ body: (_ first: Int, _ scratch: ConvScratch, _ weightGradient: UnsafeMutablePointer<Float>,
                               _ biasGradient: UnsafeMutablePointer<Float>?) -> Void) {
        let threads = budget.threads, unit = exact.unit
        let size = weight.count + (bias?.count ?? 0), units = batch / unit
        let buffers = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, units * size))
        defer { buffers.deallocate() }
        forEachUnit(batch, unit: unit, prepare: prepare) { first, scratch in
            let gw = buffers + (first / unit) * size
            if let bias { (gw + weight.count).initialize(repeating: 0, count: bias.count) }
            body(first, scratch, gw, bias == nil ? nil : gw + weight.count)
        }
        exact.fold(samples: buffers, count: units, stride: size, at: weight.offset, length: weight.count, threads: threads)
        if let bias {
            exact.fold(samples: buffers + weight.count, count: units, stride: size, at: bias.offset, length: bias.count, threads: threads)
        }
    }

    /// A convolution layer's backward of `count` passes (`ConvPass`), in either mode: `pass(i, first,
    /// samples, scratch, gradW, gradB, overwrite, span)` runs pass i's bias sums (when `gradB` is
    /// given) and weight gradient over samples first..<first+samples into gradW and gradB.
    /// - Default mode: each pass over the whole batch in turn, accumulating into the store's gradient
    ///   (`overwrite` false, `span` whole): what separate calls would do, in the same order.
    /// - Deterministic mode: for each unit, every pass in turn into that unit's buffers, the engine's
    ///   own sum carried from one pass to the next (`GradientSpan`), then one fold (`foldEachUnit`).
    ///   `overwrite` true also asks for the weight gradient in `order` (the engine's
    ///   `unitWeightOrder`, built only in this mode), which the exact sums then keep
    ///   (`ExactGradients.arrange`).
    func backwardPasses(_ count: Int, batch: Int, store: ParameterStore, weight: Param, bias: Param?,
                        order: @autoclosure () -> EntryOrder?, prepare: ((ConvScratch) -> Void)?,
                        _ pass: (_ index: Int, _ first: Int, _ samples: Int, _ scratch: ConvScratch,
                                 _ weightGradient: UnsafeMutablePointer<Float>, _ biasGradient: UnsafeMutablePointer<Float>?,
                                 _ overwrite: Bool, _ span: GradientSpan) -> Void) {
        guard let exact = store.exact else {
            for i in 0..<count {
                pass(i, 0, batch, self, store.gradient(weight), bias.map { store.gradient($0) }, false, .whole)
            }
            return
        }
        exact.arrange(at: weight.offset, length: weight.count, as: order())
        foldEachUnit(batch, into: exact, weight: weight, bias: bias, prepare: prepare) { first, scratch, gw, gb in
            for i in 0..<count { pass(i, first, exact.unit, scratch, gw, gb, true, GradientSpan(call: i, of: count)) }
        }
    }
}
