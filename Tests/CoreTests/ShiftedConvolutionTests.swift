import XCTest
@testable import Core

/// The shifted-GEMM engine (`ShiftedPlan`): its three products against the definition within a
/// rounding bound, finite differences through both layer kinds, its second products and thread
/// counts bit for bit, and where `auto` picks it. (The PyTorch fixture: `ConvFixtureTests`.)
final class ShiftedConvolutionTests: XCTestCase {
    /// (C, O, kh, kw, ph, pw, H, W): square and rectangular kernels, padding 0 to full, 1 to 4 outputs.
    static let cases: [(c: Int, o: Int, kh: Int, kw: Int, ph: Int, pw: Int, h: Int, w: Int)] = [
        (35, 3, 3, 3, 1, 1, 9, 14), (5, 1, 3, 3, 1, 1, 7, 8), (4, 4, 3, 5, 1, 2, 6, 9), (6, 2, 1, 1, 0, 0, 5, 7),
        (3, 3, 4, 4, 0, 0, 8, 9), (7, 2, 2, 3, 1, 2, 5, 5),
    ]

    private func geometry(_ c: (c: Int, o: Int, kh: Int, kw: Int, ph: Int, pw: Int, h: Int, w: Int)) -> ConvGeometry {
        ConvGeometry(channels: c.c, height: c.h, width: c.w, outChannels: c.o, kernel: (c.kh, c.kw), stride: (1, 1),
                     padding: (c.ph, c.pw))
    }

    private func random(_ n: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<n).map { _ in rng.uniformFloat() * 2 - 1 }
    }

    /// The three products in Double by their definitions, and the same sums over magnitudes (the
    /// rounding bound's scale): y[n,o,i,j] = Σ w[o,c,u,v]·x[n,c,i+u−ph,j+v−pw]; dx is its adjoint
    /// applied to dy; dW[o,c,u,v] = Σ dy[n,o,i,j]·x[n,c,i+u−ph,j+v−pw].
    private func definition(_ g: ConvGeometry, n: Int, x: [Float], w: [Float], dy: [Float])
        -> (y: [Double], dx: [Double], dw: [Double], yAbs: [Double], dxAbs: [Double], dwAbs: [Double]) {
        let C = g.channels, O = g.outChannels
        var y = [Double](repeating: 0, count: n * O * g.oh * g.ow), yAbs = y
        var dx = [Double](repeating: 0, count: x.count), dxAbs = dx
        var dw = [Double](repeating: 0, count: w.count), dwAbs = dw
        for s in 0..<n {
            for o in 0..<O {
                for i in 0..<g.oh {
                    for j in 0..<g.ow {
                        let yi = ((s * O + o) * g.oh + i) * g.ow + j
                        for c in 0..<C {
                            for u in 0..<g.kh {
                                for v in 0..<g.kw {
                                    let yy = i + u - g.ph, xx = j + v - g.pw
                                    guard yy >= 0, yy < g.height, xx >= 0, xx < g.width else { continue }
                                    let xi = ((s * C + c) * g.height + yy) * g.width + xx
                                    let wi = ((o * C + c) * g.kh + u) * g.kw + v
                                    y[yi] += Double(w[wi]) * Double(x[xi]); yAbs[yi] += Double(abs(w[wi] * x[xi]))
                                    dx[xi] += Double(w[wi]) * Double(dy[yi]); dxAbs[xi] += Double(abs(w[wi] * dy[yi]))
                                    dw[wi] += Double(dy[yi]) * Double(x[xi]); dwAbs[wi] += Double(abs(dy[yi] * x[xi]))
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, dx, dw, yAbs, dxAbs, dwAbs)
    }

    /// Every element within γ_n·Σ|terms| of the definition, n the length of its sum (any order of
    /// Float additions stays within that, on any host's kernels), plus one rounding of the result.
    func testProductsMatchDefinitionWithinRoundingBound() {
        let u = Double(Float.ulpOfOne) / 2
        for (i, c) in Self.cases.enumerated() {
            let g = geometry(c), plan = ShiftedPlan(g), n = 3
            let x = random(n * g.inputPerSample, seed: UInt64(10 + i))
            let w = random(g.outChannels * g.channels * g.kh * g.kw, seed: UInt64(20 + i))
            let dy = random(n * g.outputPerSample, seed: UInt64(30 + i))
            let d = definition(g, n: n, x: x, w: w, dy: dy)
            for threads in [1, 2] {
                let s = ConvScratch()
                s.budget = ComputeBudget(threads: threads)
                var y = [Float](repeating: .nan, count: d.y.count), dx = [Float](repeating: .nan, count: x.count)
                var dw = [Float](repeating: .nan, count: w.count)
                plan.correlate(x, batch: n, weight: w, bias: nil, into: &y, scratch: s)
                plan.correlateAdjoint(dy, batch: n, weight: w, bias: nil, into: &dx, scratch: s)
                plan.weightGradient(input: x, outputGradient: dy, batch: n, weight: w, accumulateInto: &dw, overwrite: true,
                                    then: .none, scratch: s)
                let terms = (y: g.channels * g.kh * g.kw, dx: g.outChannels * g.kh * g.kw, dw: n * g.oh * g.ow)
                for (name, got, want, scale, length) in [("y", y, d.y, d.yAbs, terms.y), ("dx", dx, d.dx, d.dxAbs, terms.dx),
                                                         ("dW", dw, d.dw, d.dwAbs, terms.dw)] {
                    let gamma = Double(length) * u / (1 - Double(length) * u)
                    for k in 0..<want.count {
                        let allowed = gamma * scale[k] + u * abs(want[k]) + 1e-30
                        if !(abs(Double(got[k]) - want[k]) <= allowed) {
                            XCTFail("case \(i) \(name)[\(k)] \(got[k]) vs \(want[k]) (allowed \(allowed)), \(threads) threads")
                            break
                        }
                    }
                }
            }
        }
    }

    /// Forward and input gradient are per sample: the same bits at 1 and 2 threads. The weight
    /// gradient's second products (dx, or y for a transposed layer) equal the standalone passes.
    func testPerSampleProductsAndSecondProductsGiveTheSameBits() {
        let c = Self.cases[0], g = geometry(c), plan = ShiftedPlan(g), n = 5
        let x = random(n * g.inputPerSample, seed: 1), w = random(g.outChannels * g.channels * 9, seed: 2)
        let dy = random(n * g.outputPerSample, seed: 3)
        func products(threads: Int) -> (y: [Float], dx: [Float], dxSecond: [Float], ySecond: [Float]) {
            let s = ConvScratch()
            s.budget = ComputeBudget(threads: threads)
            var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
            var y2 = y, dx2 = dx, dw = [Float](repeating: 0, count: w.count)
            plan.correlate(x, batch: n, weight: w, bias: nil, into: &y, scratch: s)
            plan.correlateAdjoint(dy, batch: n, weight: w, bias: nil, into: &dx, scratch: s)
            dx2.withUnsafeMutableBufferPointer { p in
                plan.weightGradient(input: x, outputGradient: dy, batch: n, weight: w, accumulateInto: &dw,
                                    then: .adjoint(into: p.baseAddress!), scratch: s)
            }
            y2.withUnsafeMutableBufferPointer { p in
                plan.weightGradient(input: x, outputGradient: dy, batch: n, weight: w, accumulateInto: &dw,
                                    then: .correlation(into: p.baseAddress!), scratch: s)
            }
            return (y, dx, dx2, y2)
        }
        let one = products(threads: 1), two = products(threads: 2)
        XCTAssertEqual(one.y.map(\.bitPattern), two.y.map(\.bitPattern), "y at 1 and 2 threads")
        XCTAssertEqual(one.dx.map(\.bitPattern), two.dx.map(\.bitPattern), "dx at 1 and 2 threads")
        XCTAssertEqual(one.dxSecond.map(\.bitPattern), one.dx.map(\.bitPattern), "dx as the weight gradient's second product")
        XCTAssertEqual(one.ySecond.map(\.bitPattern), one.y.map(\.bitPattern), "y as the weight gradient's second product")
        XCTAssertEqual(two.dxSecond.map(\.bitPattern), one.dx.map(\.bitPattern), "dx as the second product, 2 threads")
    }

    /// A weight gradient summed over calls (`GradientSpan`: the deterministic mode's passes of one
    /// unit) equals one call over both inputs' terms, and `overwrite` ignores what gradW held.
    func testSpansAccumulateAcrossCalls() {
        let c = Self.cases[2], g = geometry(c), plan = ShiftedPlan(g), n = 2
        let x1 = random(n * g.inputPerSample, seed: 4), x2 = random(n * g.inputPerSample, seed: 5)
        let w = random(g.outChannels * g.channels * g.kh * g.kw, seed: 6)
        let dy1 = random(n * g.outputPerSample, seed: 7), dy2 = random(n * g.outputPerSample, seed: 8)
        let s = ConvScratch()
        var spanned = [Float](repeating: .nan, count: w.count)
        plan.weightGradient(input: x1, outputGradient: dy1, batch: n, weight: w, accumulateInto: &spanned, overwrite: true,
                            span: GradientSpan(call: 0, of: 2), then: .none, scratch: s)
        plan.weightGradient(input: x2, outputGradient: dy2, batch: n, weight: w, accumulateInto: &spanned, overwrite: true,
                            span: GradientSpan(call: 1, of: 2), then: .none, scratch: s)
        var separate = [Float](repeating: 0, count: w.count)
        plan.weightGradient(input: x1, outputGradient: dy1, batch: n, weight: w, accumulateInto: &separate, then: .none, scratch: s)
        plan.weightGradient(input: x2, outputGradient: dy2, batch: n, weight: w, accumulateInto: &separate, then: .none, scratch: s)
        let scale = separate.map(abs).max()!
        for k in 0..<w.count { XCTAssertEqual(spanned[k], separate[k], accuracy: 1e-5 * scale, "dW[\(k)]") }
    }

    /// Through the layers: Conv2d and ConvTranspose2d with `.shifted` pass the finite-difference
    /// checks, biases included.
    func testLayerGradientsByFiniteDifferences() {
        for (i, c) in Self.cases.prefix(4).enumerated() {
            let store = ParameterStore(seed: UInt64(50 + i))
            let conv = Conv2d(store: store, name: "c", inChannels: c.c, outChannels: c.o, kernel: (c.kh, c.kw),
                              padding: (c.ph, c.pw))
            checkByFiniteDifferences(conv, store: store, input: [2, c.c, c.h, c.w], seed: UInt64(60 + i), label: "case \(i)")
            // The transposed layer whose adjoint this convolution is (few output channels: its input).
            let t = ConvTranspose2d(store: store, name: "t", inChannels: c.o, outChannels: c.c, kernel: (c.kh, c.kw),
                                    padding: (c.ph, c.pw))
            let g = geometry(c)
            checkByFiniteDifferences(t, store: store, input: [2, c.o, g.oh, g.ow], seed: UInt64(80 + i), label: "T case \(i)")
        }
    }

    /// `layer` runs shifted on `input`-shaped inputs, and its dx, dW and db match finite differences of
    /// ⟨r, layer(x)⟩ for random x and r.
    private func checkByFiniteDifferences(_ layer: ConvolutionLayer, store: ParameterStore, input shape: [Int], seed: UInt64,
                                          label: String) {
        layer.algorithm = .shifted
        XCTAssertEqual(layer.resolvedAlgorithm(height: shape[2], width: shape[3]), .shifted, label)
        let x = GradientCheck.random(shape, seed: seed)
        let r = GradientCheck.random(layer.forward(x).shape, seed: seed + 10)
        let dx = layer.backward(r, input: x)!
        let loss = { GradientCheck.dot(r, layer.forward(x)) }
        GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, label: "dx \(label)", loss: loss)
        for (p, name) in [(layer.weight, "dW"), (layer.bias!, "db")] {
            GradientCheck.compare(values: store.value(p), count: p.count, analytic: store.gradientArray(p),
                                  label: "\(name) \(label)", loss: loss)
        }
    }

    /// `auto` runs the paper decoder's predict layers (3×3, 35 or 67 channels to 3, maps of 16×32 and
    /// 32×64) as shifted GEMMs; a predict layer to one grey channel, a narrow input, more outputs or a
    /// small map stay with the other rules.
    func testAutoPicksTheWideToFewLayers() {
        func resolved(_ cin: Int, _ cout: Int, _ h: Int, _ w: Int) -> ConvAlgorithm {
            ConvAlgorithm.auto.resolve(ConvGeometry(channels: cin, height: h, width: w, outChannels: cout, kernel: (3, 3),
                                                    stride: (1, 1), padding: (1, 1)))
        }
        XCTAssertEqual(resolved(35, 3, 32, 64), .shifted)
        XCTAssertEqual(resolved(67, 3, 16, 32), .shifted)
        XCTAssertNotEqual(resolved(35, 1, 32, 64), .shifted)
        XCTAssertNotEqual(resolved(16, 3, 32, 64), .shifted)
        XCTAssertNotEqual(resolved(35, 8, 32, 64), .shifted)
        XCTAssertNotEqual(resolved(35, 3, 8, 16), .shifted, "a small map near the bottleneck")
        XCTAssertEqual(ConvAlgorithm.shifted.resolve(ConvGeometry(channels: 8, height: 16, width: 16, outChannels: 3,
                                                                   kernel: (4, 4), stride: (2, 2), padding: (1, 1))),
                       .direct, "stride 2: direct")
    }
}
