/// Grow-only scratch for the lowered GEMMs of one layer. A layer owns one and is used from one
/// thread at a time, so buffers are reused across calls instead of reallocated per batch.
final class ConvScratch {
    private(set) var lowered = ScratchBuffer()   // L (or dL), one chunk
    private(set) var rows = ScratchBuffer()      // t[oy][(n, ox)][o], one chunk
    private(set) var weight = ScratchBuffer()    // w′ in O×kh×C×kw order
    private(set) var gradient = ScratchBuffer()  // dw′ in O×kh×C×kw order (Winograd: dU)
    // Winograd only (`WinogradPlan`): `lowered` holds the phase planes, `rows` the tiled outputs,
    // `weight` the transformed kernel U.
    private(set) var transformed = ScratchBuffer()     // V or dV, one block of tiles
    private(set) var transposedWeight = ScratchBuffer()  // Uᵀ for the forward GEMMs
    private(set) var products = ScratchBuffer()        // M or dM, one block of tiles
    private(set) var temporary = ScratchBuffer()       // one tile's transform intermediates
    private(set) var rowTransforms = ScratchBuffer()   // H (or dH): plane rows after the horizontal transform
    private(set) var rowTransformsGradient = ScratchBuffer()  // dH, when the weight gradient also makes dx
    private(set) var outputs = ScratchBuffer()         // tiled y, when the weight gradient also makes y
    private(set) var expanded = ScratchBuffer()  // E (or dE): every output row's A_oy stacked, small chunks only
    /// Chunk sizing, see `ConvGeometry.chunks`. Tests set the budget to 1 to force one sample per chunk.
    var loweredBudget = 6 << 20
    /// GEMM rows per chunk (nb·ow). Measured A/B on this machine, 1 thread, batch 16: 128 rows
    /// beat 256, 512 and 2048 on every CpAE layer or tied (first 12×12 layer forward 62% vs 53–56%
    /// of peak at 256; 3×3 and decoder layers within noise); kept separate per direction because
    /// standalone OpenBLAS tests favoured longer forward chunks (not confirmed in the layers).
    var forwardRows = 128
    var backwardRows = 128
    /// The weight-gradient GEMMs run on sub-blocks of about this many rows of a chunk.
    var weightGradientRows = 128
    /// A chunk of fewer GEMM rows than this (nb·ow) runs one GEMM over all its output rows
    /// (`ConvGeometry.expands`) instead of one per output row. Tests set it to 0 or .max to pick a path.
    var expandBelowRows = 64

    /// Threads this layer may use (see `ComputeBudget`); the model sets it on every layer.
    var budget = ComputeBudget.serial
    /// True while `weight` (and `transposedWeight`) already hold this layer call's prepared weight:
    /// the deterministic mode's per-unit loop (`forEachUnit`) prepares it once and sets this on
    /// every worker, so no unit repeats the transform.
    var weightPrepared = false
    /// Set by `forEachUnit` on every worker: the buffers of the scratch that prepared the weight,
    /// which `weight(_:)` and `transposedWeight(_:)` then return (read-only) instead of the worker's own.
    var sharedWeight: (weight: UnsafeMutablePointer<Float>, transposed: UnsafeMutablePointer<Float>)? = nil
    /// Per-worker scratch for multi-threaded calls (worker 0 is `self`).
    private var workers: [ConvScratch] = []

    deinit {
        for b in [lowered, rows, weight, gradient, transformed, transposedWeight, products, temporary, rowTransforms, rowTransformsGradient, outputs, expanded] { b.release() }
    }

    func workerScratches(_ count: Int) -> [ConvScratch] {
        while workers.count < count - 1 { workers.append(ConvScratch()) }
        return [self] + workers.prefix(count - 1)
    }

    /// Bytes currently held (reported by benchmarks).
    var bytes: Int {
        4 * [lowered, rows, weight, gradient, transformed, transposedWeight, products, temporary, rowTransforms, rowTransformsGradient, outputs, expanded].reduce(0) { $0 + $1.capacity }
            + workers.reduce(0) { $0 + $1.bytes }
    }
}

/// A Float buffer that only grows.
struct ScratchBuffer {
    private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    private(set) var capacity = 1

    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            pointer = .allocate(capacity: count)
            capacity = count
        }
        return pointer
    }

    func release() { pointer.deallocate() }
}

extension ConvScratch {
    func lowered(_ n: Int) -> UnsafeMutablePointer<Float> { lowered.reserve(n) }
    func rows(_ n: Int) -> UnsafeMutablePointer<Float> { rows.reserve(n) }
    func weight(_ n: Int) -> UnsafeMutablePointer<Float> { sharedWeight?.weight ?? weight.reserve(n) }
    func gradient(_ n: Int) -> UnsafeMutablePointer<Float> { gradient.reserve(n) }
    func transformed(_ n: Int) -> UnsafeMutablePointer<Float> { transformed.reserve(n) }
    func transposedWeight(_ n: Int) -> UnsafeMutablePointer<Float> { sharedWeight?.transposed ?? transposedWeight.reserve(n) }
    func products(_ n: Int) -> UnsafeMutablePointer<Float> { products.reserve(n) }
    func temporary(_ n: Int) -> UnsafeMutablePointer<Float> { temporary.reserve(n) }
    func rowTransforms(_ n: Int) -> UnsafeMutablePointer<Float> { rowTransforms.reserve(n) }
    func rowTransformsGradient(_ n: Int) -> UnsafeMutablePointer<Float> { rowTransformsGradient.reserve(n) }
    func outputs(_ n: Int) -> UnsafeMutablePointer<Float> { outputs.reserve(n) }
    func expanded(_ n: Int) -> UnsafeMutablePointer<Float> { expanded.reserve(n) }
}

/// What to compute, after the weight gradient, from the same lowered input.
enum ConvSecondProduct {
    case none
    /// The adjoint (col2im direction): overwrite `into` (N×C×H×W) with the input gradient.
    case adjoint(into: UnsafeMutablePointer<Float>)
    /// The correlation itself: overwrite `into` (N×O×oh×ow) with x ⋆ w (a transposed convolution's
    /// input gradient is the plain convolution of its output gradient).
    case correlation(into: UnsafeMutablePointer<Float>)
}

/// Where one weight-gradient call stands in a sum over several calls on the same scratch (the
/// deterministic mode's passes of one unit, `Conv2d.backward(_ passes:)`). The engines sum into a
/// buffer of their own layout in each worker scratch (Winograd's dU, the direct lowering's
/// reordered dw′) and transform or reorder that into gradW once: a call that `continues` adds to
/// what the previous call left there instead of starting it (its first GEMM with β = 1), and only a
/// call that `finishes` writes gradW. Between the calls of one sum nothing else may use those
/// buffers and the thread count must not change.
struct GradientSpan {
    let continues: Bool
    let finishes: Bool
    /// A sum of one call: what every call outside the deterministic mode's paired passes is.
    static let whole = GradientSpan(continues: false, finishes: true)
}

extension GradientSpan {
    /// Call `index` of `count`.
    init(call index: Int, of count: Int) { self.init(continues: index > 0, finishes: index == count - 1) }
}

/// The three products of a convolution, all lowered as described on `ConvGeometry`. Pointers are
/// whole-batch NCHW; `w` is O×C×kh×kw.
///
/// Threads: with a budget of T > 1 threads (`ConvScratch.budget`), the chunks of the batch are
/// spread over T workers that each run single-threaded GEMMs on their own scratch (OpenBLAS is
/// re-entrant, and runs single-threaded, see `ComputeBudget`), instead of handing each small
/// per-row GEMM to a threaded BLAS: those GEMMs are too small to split well (measured: the first
/// 12×12 layer's forward ran slower on 2 BLAS threads than on 1).
extension ConvGeometry {
    /// Runs `body(chunk, scratch, worker, threads)` for every chunk of the batch, on up to
    /// `scratch.budget.threads` workers; `threads` is what the chunk's own passes may use (all of
    /// the budget with one worker, 1 inside each of several). With `workers` (a pass that
    /// accumulates per worker) each worker takes a fixed contiguous run of chunks, so its sum covers
    /// the same samples in every run; without, chunks are claimed by whichever thread is free.
    func forEachChunk(batch: Int, scratch: ConvScratch, rows: Int, workers: ((Int) -> Void)? = nil,
                      _ body: (Range<Int>, ConvScratch, Int, Int) -> Void) {
        let threads = scratch.budget.threads
        var list = chunks(batch: batch, targetRows: rows, budget: scratch.loweredBudget)
        if threads <= 1 || batch < 2 {
            workers?(1)
            for c in list { body(c, scratch, 0, threads) }
            return
        }
        if list.count < threads {
            let parts = Swift.min(batch, threads)
            list = (0..<parts).map { splitRange(batch, parts: parts, $0) }
        }
        let count = Swift.min(threads, list.count)
        let scratches = scratch.workerScratches(count)
        guard let workers else {
            // Nothing accumulated per worker: chunks go to whichever thread is free.
            parallelForClaimed(list.count, threads: count) { i, slot in body(list[i], scratches[slot], slot, 1) }
            return
        }
        workers(count)
        parallelFor(count, threads: count) { w in
            for i in splitRange(list.count, parts: count, w) { body(list[i], scratches[w], w, 1) }
        }
    }

    /// y = x ⋆ w (+ bias per output channel).
    func correlate(_ x: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
                   bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        let wr = scratch.weight(outChannels * k)
        if !scratch.weightPrepared { reorderWeight(w, into: wr, threads: scratch.budget.threads) }
        forEachChunk(batch: batch, scratch: scratch, rows: scratch.forwardRows) { chunk, s, _, threads in
            let l = s.lowered(chunk.count * loweredPerSample)
            lower(x, samples: chunk, into: l, threads: threads)
            let t = s.rows(chunk.count * outputPerSample)
            forwardGEMMs(l, weight: wr, rows: chunk.count * ow, into: t,
                         expanded: expanded(l, rows: chunk.count * ow, scratch: s).map { UnsafePointer($0) })
            scatterRows(t, samples: chunk, bias: bias, into: y, threads: threads)
        }
    }

    /// out = adjoint of the correlation applied to t (N×O×oh×ow): the input gradient of a
    /// convolution, or the forward pass of a transposed convolution. `bias` (per input channel C)
    /// initialises the output before the scatter-add.
    func correlateAdjoint(_ t: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        let wr = scratch.weight(outChannels * k)
        if !scratch.weightPrepared { reorderWeight(w, into: wr, threads: scratch.budget.threads) }
        forEachChunk(batch: batch, scratch: scratch, rows: scratch.forwardRows) { chunk, s, _, threads in
            fill(out, samples: chunk, bias: bias)
            let r = s.rows(chunk.count * outputPerSample)
            gatherRows(t, samples: chunk, into: r, threads: threads)
            let dl = s.lowered(chunk.count * loweredPerSample)
            adjointGEMMs(r, weight: wr, rows: chunk.count * ow, into: dl, count: chunk.count * loweredPerSample, scratch: s)
            unlowerAdd(dl, samples: chunk, into: out, threads: threads)
        }
    }

    /// gradW (O×C×kh×kw) += Σ_n t_n ⋆ x_n, the weight gradient of y = x ⋆ w for output gradient t;
    /// then, from the same lowered chunks, the requested second product.
    func weightGradient(input x: UnsafePointer<Float>, outputGradient t: UnsafePointer<Float>, batch: Int,
                        weight w: UnsafePointer<Float>, accumulateInto gradW: UnsafeMutablePointer<Float>, overwrite: Bool = false,
                        span: GradientSpan = .whole, then second: ConvSecondProduct, scratch: ConvScratch) {
        guard batch > 0 else {
            if overwrite { gradW.update(repeating: 0, count: outChannels * k) }
            return
        }
        var wr: UnsafeMutablePointer<Float>? = nil
        if case .none = second {} else {
            wr = scratch.weight(outChannels * k)
            if !scratch.weightPrepared { reorderWeight(w, into: wr!, threads: scratch.budget.threads) }
        }
        // Each worker sums its chunks into its own dw′, which its first GEMM starts (β = 0): no
        // clearing pass (the deterministic mode calls this once per unit).
        var grads: [UnsafeMutablePointer<Float>] = []
        let started = UnsafeMutablePointer<Bool>.allocate(capacity: Swift.max(1, scratch.budget.threads))
        defer { started.deallocate() }
        forEachChunk(batch: batch, scratch: scratch, rows: scratch.backwardRows, workers: { count in
            grads = scratch.workerScratches(count).map { $0.gradient(outChannels * k) }
            started.initialize(repeating: span.continues, count: count)
        }) { chunk, s, worker, threads in
            let m = chunk.count * ow
            let gr = grads[worker]
            let l = s.lowered(chunk.count * loweredPerSample)
            lower(x, samples: chunk, into: l, threads: threads)
            let r = s.rows(chunk.count * outputPerSample)
            gatherRows(t, samples: chunk, into: r, threads: threads)
            let e = expanded(l, rows: m, scratch: s).map { UnsafePointer($0) }
            if let e {
                // dw′[O × K] += tᵀ · E: all output rows in one GEMM.
                sgemm(transA: true, m: outChannels, n: k, k: oh * m, a: r, lda: outChannels, b: e, ldb: k,
                      beta: started[worker] ? 1 : 0, c: gr, ldc: k)
                started[worker] = true
            } else {
                // Sub-blocks of whole samples, about weightGradientRows rows each.
                let perBlock = Swift.max(1, s.weightGradientRows / ow)
                for oy in 0..<oh {
                    var first = 0
                    while first < chunk.count {
                        let rows = Swift.min(perBlock, chunk.count - first) * ow
                        let r0 = first * ow
                        // dw′[O × K] += t_oyᵀ · A_oy over rows r0..<r0+rows.
                        sgemm(transA: true, m: outChannels, n: k, k: rows, a: r + (oy * m + r0) * outChannels, lda: outChannels,
                              b: l + r0 * rowStride + oy * sh * channels * kw, ldb: rowStride, beta: started[worker] ? 1 : 0, c: gr, ldc: k)
                        started[worker] = true
                        first += perBlock
                    }
                }
            }
            switch second {
            case .none:
                break
            case .adjoint(let dx):
                // L is no longer needed: reuse it as dL.
                fill(dx, samples: chunk, bias: nil)
                adjointGEMMs(r, weight: wr!, rows: m, into: l, count: chunk.count * loweredPerSample, scratch: s)
                unlowerAdd(l, samples: chunk, into: dx, threads: threads)
            case .correlation(let y):
                forwardGEMMs(l, weight: wr!, rows: m, into: r, expanded: e)
                scatterRows(r, samples: chunk, bias: nil, into: y, threads: threads)
            }
        }
        if span.finishes { addReorderedGradients(grads, into: gradW, threads: scratch.budget.threads, overwrite: overwrite) }
    }

    /// Whether a chunk of `m` GEMM rows (nb·ow) runs its GEMMs over E, every output row's A_oy
    /// stacked (oh·m × K), instead of one GEMM per output row: when the chunk is too short for those
    /// (a deterministic unit of one sample: 16 rows in the 4×4 layers) each call packs the whole
    /// weight again for a few rows — E costs one copy of the lowered chunk and packs it once. Only
    /// while E stays small (≤ 4 MB), so it is still in cache for the GEMM.
    func expands(rows m: Int, scratch: ConvScratch) -> Bool {
        oh > 1 && m < scratch.expandBelowRows && oh * m * k <= 1 << 20
    }

    /// E (when `expands`): E[oy·m + r] = A_oy[r], the K-vectors in the order of t's rows.
    private func expanded(_ l: UnsafePointer<Float>, rows m: Int, scratch: ConvScratch) -> UnsafeMutablePointer<Float>? {
        guard expands(rows: m, scratch: scratch) else { return nil }
        let e = scratch.expanded(oh * m * k)
        for oy in 0..<oh {
            for r in 0..<m { (e + (oy * m + r) * k).update(from: l + r * rowStride + oy * sh * channels * kw, count: k) }
        }
        return e
    }

    /// t[oy] = A_oy · w′ᵀ for every output row: M = rows, N = O, K = kh·C·kw (with E, one GEMM of
    /// M = oh·rows).
    private func forwardGEMMs(_ l: UnsafePointer<Float>, weight wr: UnsafePointer<Float>, rows m: Int,
                              into t: UnsafeMutablePointer<Float>, expanded e: UnsafePointer<Float>?) {
        if let e {
            sgemm(transB: true, m: oh * m, n: outChannels, k: k, a: e, lda: k, b: wr, ldb: k, c: t, ldc: outChannels)
            return
        }
        for oy in 0..<oh {
            sgemm(transB: true, m: m, n: outChannels, k: k, a: l + oy * sh * channels * kw, lda: rowStride,
                  b: wr, ldb: k, c: t + oy * m * outChannels, ldc: outChannels)
        }
    }

    /// dL = Σ_oy (view A_oy) += t_oy · w′. The views overlap (kh > sh), so the GEMMs accumulate
    /// (beta = 1) into a zeroed buffer, one after another. A short chunk (`expands`) makes all of
    /// dE = t · w′ in one GEMM and adds its rows into the views in the same order.
    private func adjointGEMMs(_ t: UnsafePointer<Float>, weight wr: UnsafePointer<Float>, rows m: Int,
                              into dl: UnsafeMutablePointer<Float>, count: Int, scratch: ConvScratch) {
        dl.update(repeating: 0, count: count)
        if expands(rows: m, scratch: scratch) {
            let de = scratch.expanded(oh * m * k)
            sgemm(m: oh * m, n: k, k: outChannels, a: t, lda: outChannels, b: wr, ldb: k, c: de, ldc: k)
            for oy in 0..<oh {
                for r in 0..<m { addFloats(dl + r * rowStride + oy * sh * channels * kw, de + (oy * m + r) * k, k) }
            }
            return
        }
        for oy in 0..<oh {
            sgemm(m: m, n: k, k: outChannels, a: t + oy * m * outChannels, lda: outChannels,
                  b: wr, ldb: k, beta: 1, c: dl + oy * sh * channels * kw, ldc: rowStride)
        }
    }

    /// Sets the input-shaped planes of `samples` to their bias (or zero) before scatter-adds.
    private func fill(_ out: UnsafeMutablePointer<Float>, samples: Range<Int>, bias: UnsafePointer<Float>?) {
        let plane = height * width
        guard let bias else {
            (out + samples.lowerBound * channels * plane).update(repeating: 0, count: samples.count * channels * plane)
            return
        }
        for n in samples {
            for c in 0..<channels { (out + (n * channels + c) * plane).update(repeating: bias[c], count: plane) }
        }
    }
}

/// Σ p[0..<n] with eight Float lanes (a fixed order: the compiler vectorises it, which it may not do
/// for a single accumulator), then the lanes and the tail.
@inline(__always)
private func planeSum8(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
        acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// bias[c] += Σ over n, h, w of g[n, c, h, w] (a bias gradient), summed in Double per channel; the
/// channels are split over `threads`, each summed by one thread in one order (same result for any count).
func addChannelSums(_ g: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int,
                    into bias: UnsafeMutablePointer<Float>, threads: Int = 1) {
    let pieces = workPieces(channels, threads: threads)
    parallelFor(pieces, threads: threads) { piece in
        for c in splitRange(channels, parts: pieces, piece) {
            var s: Double = 0
            for n in 0..<batch { s += Double(planeSum8(g + (n * channels + c) * plane, plane)) }
            bias[c] += Float(s)
        }
    }
}
