/// A stride-1 convolution with few output channels — the decoder's `predict` layers, 35 or 67
/// channels to the image's 3 — as one GEMM per kernel tap over shifted views of the zero-padded input.
///
/// With x̃ the input padded to hp × wp and laid out flat, the tap (ky, kx) of every output on the
/// padded-width grid (oh rows of wp, the last wp − ow columns of each row discarded) reads x̃ at the
/// output's own offset plus ky·wp + kx: a view of x̃ shifted by a constant, with the channel planes
/// hp·wp apart. So
///
///     Y (grid × O) = Σ_taps X̃_tapᵀ (grid × C) · W_tap (C × O)
///
/// with no lowered copy: the direct lowering copies the wide input kh·kw times, and Winograd's
/// transforms cost as much as for a wide output while the per-point GEMMs have only O columns (both
/// ran these layers at 8–20% of the sgemm peak; this runs them at 30–40%). The input gradient
/// lowers the output gradient instead (O·kh·kw values per padded pixel: small, since O is) and
/// makes dx̃ in one GEMM; the weight
/// gradient is one GEMM per tap, dW_tap (O × C) += Tᵀ (O × grid) · X̃_tap, the discarded grid columns
/// of T zero. Each product is exact up to the GEMMs' rounding, like the direct lowering's (the same
/// fixtures and finite-difference checks; `ShiftedConvolutionTests`).
struct ShiftedPlan {
    let geometry: ConvGeometry
    /// The padded input plane.
    let hp: Int, wp: Int
    let taps: Int

    /// Stride 1, at most 4 output channels.
    static func supports(_ g: ConvGeometry) -> Bool { g.sh == 1 && g.sw == 1 && g.outChannels <= 4 }

    init(_ g: ConvGeometry) {
        precondition(ShiftedPlan.supports(g), "the shifted-GEMM convolution needs stride 1 and at most 4 output channels")
        geometry = g
        hp = g.height + 2 * g.ph
        wp = g.width + 2 * g.pw
        taps = g.kh * g.kw
    }

    var plane: Int { hp * wp }
    /// The padded input of one sample, with kw floats of slack after the last plane: the last
    /// output row's discarded columns read up to kw − 1 floats past it.
    var paddedFloats: Int { geometry.channels * plane + geometry.kw }
    /// Outputs of one sample on the padded-width grid.
    var gridOutputs: Int { geometry.oh * wp }
    /// Lowered output-gradient values per padded pixel (the input gradient's GEMM depth).
    var adjointDepth: Int { geometry.outChannels * taps }
}

extension ShiftedPlan {
    /// x̃ of sample n: zero borders and slack, the image inside.
    private func pad(_ x: UnsafePointer<Float>, sample n: Int, into xp: UnsafeMutablePointer<Float>) {
        let g = geometry
        xp.update(repeating: 0, count: paddedFloats)
        for c in 0..<g.channels {
            let src = x + (n * g.channels + c) * g.height * g.width
            let dst = xp + c * plane + g.ph * wp + g.pw
            for y in 0..<g.height { (dst + y * wp).update(from: src + y * g.width, count: g.width) }
        }
    }

    /// W_tap[c][o] = w[o][c][tap] (`weight`), and the input gradient's Wa[(o, tap)][c] = w[o][c][tap]
    /// (`transposed`).
    func prepareWeight(_ w: UnsafePointer<Float>, scratch: ConvScratch) {
        let g = geometry, C = g.channels, O = g.outChannels
        let wt = scratch.weight(taps * C * O), wa = scratch.transposedWeight(O * taps * C)
        for o in 0..<O {
            for c in 0..<C {
                for t in 0..<taps {
                    let v = w[(o * C + c) * taps + t]
                    wt[(t * C + c) * O + o] = v
                    wa[(o * taps + t) * C + c] = v
                }
            }
        }
    }

    /// Runs `body(sample, scratch)` for every sample, each claimed by whichever thread is free.
    private func forEachSample(_ batch: Int, scratch: ConvScratch, _ body: (Int, ConvScratch) -> Void) {
        let count = Swift.max(1, Swift.min(scratch.budget.threads, batch))
        let scratches = scratch.workerScratches(count)
        parallelForClaimed(batch, threads: count) { n, slot in body(n, scratches[slot]) }
    }

    /// One sample's y = x ⋆ w (+ bias), from its padded input `xp`.
    private func correlateSample(_ xp: UnsafePointer<Float>, sample n: Int, weight wt: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, scratch s: ConvScratch) {
        let g = geometry, C = g.channels, O = g.outChannels
        let yt = s.rows(gridOutputs * O)
        for t in 0..<taps {
            sgemm(transA: true, m: gridOutputs, n: O, k: C, a: xp + (t / g.kw) * wp + t % g.kw, lda: plane,
                  b: wt + t * C * O, ldb: O, beta: t == 0 ? 0 : 1, c: yt, ldc: O)
        }
        for o in 0..<O {
            let b = bias?[o] ?? 0
            for oy in 0..<g.oh {
                let dst = y + ((n * O + o) * g.oh + oy) * g.ow, src = yt + oy * wp * O + o
                for ox in 0..<g.ow { dst[ox] = src[ox * O] + b }
            }
        }
    }

    /// One sample's adjoint: out = bias + Σ_{o,tap} w[o][c][tap] · t[o] shifted back by the tap.
    private func correlateAdjointSample(_ t: UnsafePointer<Float>, sample n: Int, weight wa: UnsafePointer<Float>,
                                        bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, scratch s: ConvScratch) {
        let g = geometry, C = g.channels, O = g.outChannels, depth = adjointDepth
        // L[(i, j)][(o, ky, kx)] = t[o][i − ky][j − kx] over the padded-input grid (0 outside t).
        let l = s.expanded(plane * depth)
        l.update(repeating: 0, count: plane * depth)
        for o in 0..<O {
            for ky in 0..<g.kh {
                for kx in 0..<g.kw {
                    let column = (o * g.kh + ky) * g.kw + kx
                    for oy in 0..<g.oh {
                        let src = t + ((n * O + o) * g.oh + oy) * g.ow
                        let dst = l + ((oy + ky) * wp + kx) * depth + column
                        for ox in 0..<g.ow { dst[ox * depth] = src[ox] }
                    }
                }
            }
        }
        let dxt = s.outputs(plane * C)
        sgemm(m: plane, n: C, k: depth, a: l, lda: depth, b: wa, ldb: C, c: dxt, ldc: C)
        for c in 0..<C {
            let b = bias?[c] ?? 0
            for y in 0..<g.height {
                let dst = out + ((n * C + c) * g.height + y) * g.width, src = dxt + ((y + g.ph) * wp + g.pw) * C + c
                for x in 0..<g.width { dst[x] = src[x * C] + b }
            }
        }
    }

    func correlate(_ x: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
                   bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        if !scratch.weightPrepared { prepareWeight(w, scratch: scratch) }
        let wt = UnsafePointer(scratch.weight(taps * geometry.channels * geometry.outChannels))
        forEachSample(batch, scratch: scratch) { n, s in
            let xp = s.lowered(paddedFloats)
            pad(x, sample: n, into: xp)
            correlateSample(xp, sample: n, weight: wt, bias: bias, into: y, scratch: s)
        }
    }

    func correlateAdjoint(_ t: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        if !scratch.weightPrepared { prepareWeight(w, scratch: scratch) }
        let wa = UnsafePointer(scratch.transposedWeight(adjointDepth * geometry.channels))
        forEachSample(batch, scratch: scratch) { n, s in
            correlateAdjointSample(t, sample: n, weight: wa, bias: bias, into: out, scratch: s)
        }
    }

    /// gradW += Σ_n t_n ⋆ x_n, then the `second` product. Each worker sums a fixed contiguous part
    /// of the batch into its own dW (tap-major, [tap][o][c]), started by its first GEMM (β = 0) unless
    /// the span continues; the workers' sums are added in worker order and rearranged into gradW's
    /// O×C×kh×kw once, by the call that finishes the span.
    func weightGradient(input x: UnsafePointer<Float>, outputGradient t: UnsafePointer<Float>, batch: Int,
                        weight w: UnsafePointer<Float>, accumulateInto gradW: UnsafeMutablePointer<Float>, overwrite: Bool = false,
                        span: GradientSpan = .whole, then second: ConvSecondProduct, scratch: ConvScratch) {
        let g = geometry, C = g.channels, O = g.outChannels, size = taps * O * C
        guard batch > 0 else {
            if overwrite { gradW.update(repeating: 0, count: size) }
            return
        }
        // Only a second product reads the weight.
        var wt: UnsafePointer<Float>? = nil, wa: UnsafePointer<Float>? = nil
        if case .none = second {} else {
            if !scratch.weightPrepared { prepareWeight(w, scratch: scratch) }
            wt = UnsafePointer(scratch.weight(size))
            wa = UnsafePointer(scratch.transposedWeight(size))
        }
        let count = Swift.max(1, Swift.min(scratch.budget.threads, batch))
        let scratches = scratch.workerScratches(count)
        let grads = scratches.map { $0.gradient(size) }
        parallelFor(count, threads: count) { worker in
            let s = scratches[worker], dw = grads[worker]
            var started = span.continues
            for n in splitRange(batch, parts: count, worker) {
                let xp = s.lowered(paddedFloats)
                pad(x, sample: n, into: xp)
                // T on the padded-width grid, zero in the discarded columns.
                let tq = s.rows(O * gridOutputs)
                for o in 0..<O {
                    for oy in 0..<g.oh {
                        let dst = tq + o * gridOutputs + oy * wp, src = t + ((n * O + o) * g.oh + oy) * g.ow
                        dst.update(from: src, count: g.ow)
                        (dst + g.ow).update(repeating: 0, count: wp - g.ow)
                    }
                }
                for tap in 0..<taps {
                    sgemm(transB: true, m: O, n: C, k: gridOutputs, a: tq, lda: gridOutputs,
                          b: xp + (tap / g.kw) * wp + tap % g.kw, ldb: plane, beta: started ? 1 : 0, c: dw + tap * O * C, ldc: C)
                }
                started = true
                switch second {
                case .none: break
                case .adjoint(let dx): correlateAdjointSample(t, sample: n, weight: wa!, bias: nil, into: dx, scratch: s)
                case .correlation(let y): correlateSample(xp, sample: n, weight: wt!, bias: nil, into: y, scratch: s)
                }
            }
        }
        guard span.finishes else { return }
        let total = grads[0]
        for other in grads.dropFirst() { for i in 0..<size { total[i] += other[i] } }
        for o in 0..<O {
            for c in 0..<C {
                let row = gradW + (o * C + c) * taps
                for tap in 0..<taps {
                    let v = total[(tap * O + o) * C + c]
                    row[tap] = overwrite ? v : row[tap] + v
                }
            }
        }
    }
}
