import XCTest
@testable import Core

/// The Winograd convolutions (`WinogradPlan`) against the convolution's definition in Float64, with a
/// tolerance from a rounding-error bound rather than a constant.
///
/// ## The bound
/// Every product runs as a chain of small matrix products and sums. For a chain of n rounded
/// operations, |fl(z) − z| ≤ γ_n · ẑ with γ_n ≈ n·u (u = 2⁻²⁴) and ẑ the same chain evaluated on the
/// magnitudes of every matrix and operand (Higham, Accuracy and Stability, §3.5). ẑ is computed by
/// the engine itself, run with |Aᵀ|, |G|, |Bᵀ| (`WinogradPlan(absolute: true)`) on |x|, |w|, |dy|; n
/// counts the longest sum in each stage (two α-term transform passes per side, the GEMM's inner
/// length, the kernel transform and the final additions). The bound is host-independent: it holds
/// for any summation order OpenBLAS picks on Zen 3 or Zen 4. A wrong index is off by O(|z|), far
/// beyond it; the test also checks that the bound itself is small (the algorithm is accurate).
final class WinogradTests: XCTestCase {
    struct Case {
        let n, c, o, h, w, k, s, p: Int
        var label: String { "N\(n) \(c)→\(o) \(h)×\(w) k\(k) s\(s) p\(p)" }
    }

    /// Every Winograd-eligible CpAE geometry at reduced channel counts, with sizes that leave partial
    /// tiles (so padding tiles, clipped outputs and unread input rows are exercised).
    static let cases: [Case] = [
        Case(n: 2, c: 3, o: 4, h: 11, w: 13, k: 3, s: 1, p: 1),     // 3×3 stride 1: F(4, 3)
        Case(n: 3, c: 2, o: 5, h: 16, w: 20, k: 3, s: 1, p: 1),
        Case(n: 2, c: 3, o: 4, h: 22, w: 30, k: 12, s: 2, p: 5),    // 12×12 stride 2: polyphase F(3, 6)
        Case(n: 2, c: 2, o: 3, h: 17, w: 23, k: 12, s: 2, p: 5),    // odd: the last row is not read
        Case(n: 2, c: 3, o: 2, h: 16, w: 28, k: 4, s: 2, p: 1),     // 4×4 stride 2: polyphase F(6, 2)
        Case(n: 2, c: 2, o: 3, h: 14, w: 26, k: 8, s: 2, p: 3),     // the small preset's K = 8
        Case(n: 2, c: 2, o: 2, h: 9, w: 11, k: 3, s: 2, p: 0),      // kernel not a multiple of the stride
        // Enough channels that a block holds 3 tile rows and a chunk one sample: several chunks per
        // worker and several GEMM blocks per chunk (dU summed over blocks, dH over overlapping bands).
        Case(n: 3, c: 48, o: 48, h: 24, w: 40, k: 3, s: 1, p: 1),
        Case(n: 3, c: 12, o: 24, h: 30, w: 38, k: 12, s: 2, p: 5),
    ]

    static let u = 0x1p-24

    func geometry(_ c: Case) -> ConvGeometry {
        ConvGeometry(channels: c.c, height: c.h, width: c.w, outChannels: c.o, kernel: (c.k, c.k), stride: (c.s, c.s),
                     padding: (c.p, c.p))
    }

    // MARK: Definitions in Float64

    /// y = x ⋆ w (no bias).
    static func forward(_ g: ConvGeometry, n: Int, _ x: [Float], _ w: [Float]) -> [Double] {
        var y = [Double](repeating: 0, count: n * g.outputPerSample)
        for b in 0..<n { for o in 0..<g.outChannels { for oy in 0..<g.oh { for ox in 0..<g.ow {
            var acc = 0.0
            for c in 0..<g.channels { for u in 0..<g.kh { for v in 0..<g.kw {
                let iy = oy * g.sh - g.ph + u, ix = ox * g.sw - g.pw + v
                if iy < 0 || iy >= g.height || ix < 0 || ix >= g.width { continue }
                acc += Double(w[((o * g.channels + c) * g.kh + u) * g.kw + v]) * Double(x[((b * g.channels + c) * g.height + iy) * g.width + ix])
            } } }
            y[((b * g.outChannels + o) * g.oh + oy) * g.ow + ox] = acc
        } } } }
        return y
    }

    /// (dx, dW) for output gradient dy.
    static func backward(_ g: ConvGeometry, n: Int, _ x: [Float], _ w: [Float], _ dy: [Float]) -> ([Double], [Double]) {
        var dx = [Double](repeating: 0, count: n * g.inputPerSample)
        var dw = [Double](repeating: 0, count: w.count)
        for b in 0..<n { for o in 0..<g.outChannels { for oy in 0..<g.oh { for ox in 0..<g.ow {
            let d = Double(dy[((b * g.outChannels + o) * g.oh + oy) * g.ow + ox])
            for c in 0..<g.channels { for u in 0..<g.kh { for v in 0..<g.kw {
                let iy = oy * g.sh - g.ph + u, ix = ox * g.sw - g.pw + v
                if iy < 0 || iy >= g.height || ix < 0 || ix >= g.width { continue }
                let wi = ((o * g.channels + c) * g.kh + u) * g.kw + v, xi = ((b * g.channels + c) * g.height + iy) * g.width + ix
                dx[xi] += d * Double(w[wi])
                dw[wi] += d * Double(x[xi])
            } } }
        } } } }
        return (dx, dw)
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RNG(seed: seed)
        return (0..<count).map { _ in rng.uniformFloat() * 2 - 1 }
    }

    /// |got − exact| ≤ bound elementwise; returns the largest error relative to the largest |exact|.
    @discardableResult
    static func assertWithin(_ got: [Float], _ exact: [Double], bound: [Float], _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(got.count, exact.count, label, file: file, line: line)
        var worst = 0.0, scale = 0.0
        for i in 0..<Swift.min(got.count, exact.count) {
            let err = abs(Double(got[i]) - exact[i])
            scale = Swift.max(scale, abs(exact[i]))
            worst = Swift.max(worst, err)
            if err > Double(bound[i]) {
                XCTFail("\(label)[\(i)]: \(got[i]) vs exact \(exact[i]), error \(err) > bound \(bound[i])", file: file, line: line)
                return .infinity
            }
        }
        return worst / Swift.max(scale, .leastNormalMagnitude)
    }

    // MARK: Tests

    /// Forward, input gradient and weight gradient of every case, one and two threads, against the
    /// definition, each within its rounding bound; and the bound itself below 5% of the output scale.
    func testProductsMatchDefinitionWithinRoundingBound() {
        for (i, c) in Self.cases.enumerated() {
            let g = geometry(c)
            XCTAssertTrue(WinogradPlan.supports(g), c.label)
            let x = Self.random(c.n * g.inputPerSample, seed: UInt64(10 + i))
            let w = Self.random(g.outChannels * g.channels * g.kh * g.kw, seed: UInt64(20 + i))
            let dy = Self.random(c.n * g.outputPerSample, seed: UInt64(30 + i))
            let yExact = Self.forward(g, n: c.n, x, w)
            let (dxExact, dwExact) = Self.backward(g, n: c.n, x, w, dy)
            // Both block floors on any host (WinogradPlan.defaultMinimumBlockTiles picks one by the
            // OpenBLAS kernel set): 32 gives several blocks per sample, 128 several samples per chunk.
            for floor in [32, 128] {
                let plan = WinogradPlan(g, minimumBlockTiles: floor)
                if c.c >= 12 && floor == 32 {
                    XCTAssertGreaterThan(plan.tilesPerSample, plan.blockTiles, "\(c.label): one chunk per sample")
                    XCTAssertGreaterThan(plan.th, Swift.max(1, plan.blockTiles / plan.tw), "\(c.label): several blocks per chunk")
                }
                if c.c >= 12 && floor == 128 {
                    XCTAssertGreaterThanOrEqual(plan.blockTiles / plan.tilesPerSample, 2, "\(c.label): several samples per chunk")
                }
                for threads in [1, 2] {
                    let scratch = ConvScratch()
                    scratch.budget = ComputeBudget(threads: threads)
                    let label = "\(c.label) floor \(floor) threads \(threads)"
                    let (yb, dxb, dwb) = Self.roundingBounds(plan, batch: c.n, x: x, w: w, dy: dy, threads: threads)

                    var y = [Float](repeating: .nan, count: yExact.count)
                    plan.correlate(x, batch: c.n, weight: w, bias: nil, into: &y, scratch: scratch)
                    let yErr = Self.assertWithin(y, yExact, bound: yb, "y \(label)")

                    var dx = [Float](repeating: .nan, count: dxExact.count)
                    plan.correlateAdjoint(dy, batch: c.n, weight: w, bias: nil, into: &dx, scratch: scratch)
                    Self.assertWithin(dx, dxExact, bound: dxb, "dx \(label)")

                    var dw = [Float](repeating: 0, count: w.count)
                    plan.weightGradient(input: x, outputGradient: dy, batch: c.n, weight: w, accumulateInto: &dw,
                                        then: .none, scratch: scratch)
                    Self.assertWithin(dw, dwExact, bound: dwb, "dW \(label)")

                    // The bound has teeth: a wrong index or coefficient errs by O(|y|), the bound is far below it
                    // (worst case ~1e-2·max|y| for F(3, 6) over 48 phase channels: the magnitudes' sum grows
                    // like C′, |y| like √C′ on random data).
                    let scale = yExact.map(Swift.abs).max() ?? 1
                    XCTAssertLessThan(Double(yb.max() ?? 0) / scale, 5e-2, "forward bound relative to |y| \(label)")
                    if threads == 1 { print("Winograd \(c.label) floor \(floor): forward error \(yErr) of max|y|, bound \(Double(yb.max() ?? 0) / scale)") }
                }
            }
        }
    }

    /// Rounding bounds (elementwise) of the three products of `plan` at (x, w, dy), from the
    /// magnitude-only run of the same engine; see the class comment for the term counts.
    static func roundingBounds(_ plan: WinogradPlan, batch n: Int, x: [Float], w: [Float], dy: [Float],
                               threads: Int = 1) -> (y: [Float], dx: [Float], dw: [Float]) {
        let g = plan.geometry, a = plan.alpha
        let abs = WinogradPlan(g, absolute: true)
        let scratch = ConvScratch()
        scratch.budget = ComputeBudget(threads: threads)
        var y = [Float](repeating: 0, count: n * g.outputPerSample), dx = [Float](repeating: 0, count: n * g.inputPerSample)
        var dw = [Float](repeating: 0, count: w.count)
        let (ax, aw, ady) = (x.map(Swift.abs), w.map(Swift.abs), dy.map(Swift.abs))
        abs.correlate(ax, batch: n, weight: aw, bias: nil, into: &y, scratch: scratch)
        abs.correlateAdjoint(ady, batch: n, weight: aw, bias: nil, into: &dx, scratch: scratch)
        abs.weightGradient(input: ax, outputGradient: ady, batch: n, weight: aw, accumulateInto: &dw, then: .none, scratch: scratch)
        func scaled(_ v: [Float], _ terms: Int) -> [Float] {
            v.map { Float(Double(terms) * u) * $0 * 1.01 + Float.leastNormalMagnitude }
        }
        return (scaled(y, 2 * plan.r + 4 * a + plan.phaseChannels + 2),
                scaled(dx, 2 * plan.r + 4 * a + g.outChannels + 2 + a),
                scaled(dw, 2 * a + 4 * a + n * plan.tilesPerSample + 2))
    }

    /// The PyTorch fixtures of every Winograd-eligible geometry (tools/make_layer_fixtures.py), through
    /// the layers with `.winograd`. Tolerance: our rounding bound plus PyTorch's own float32 rounding
    /// (the allowance ConvFixtureTests gives the direct lowering: 1e-5·|torch| + 1e-6·max(1, max|torch|)).
    func testLayersMatchPyTorchFixtures() throws {
        var checked = 0
        for name in ConvFixtureTests.conv2dFixtures + ConvFixtureTests.convTransposeFixtures {
            let f = try Fixture(name)
            let cin = try f.int("in_channels"), cout = try f.int("out_channels"), bias = try f.bool("bias")
            let (kernel, stride, padding) = (try f.pair("kernel"), try f.pair("stride"), try f.pair("padding"))
            let transposed = name.hasPrefix("convT")
            let store = ParameterStore(seed: 1)
            let layer: ConvolutionLayer = transposed
                ? ConvTranspose2d(store: store, name: "l", inChannels: cin, outChannels: cout, kernel: kernel, stride: stride,
                                  padding: padding, bias: bias)
                : Conv2d(store: store, name: "l", inChannels: cin, outChannels: cout, kernel: kernel, stride: stride,
                         padding: padding, bias: bias)
            layer.algorithm = .winograd
            let x = try f.tensor("x"), dy = try f.tensor("dy")
            guard layer.resolvedAlgorithm(height: x.shape[2], width: x.shape[3]) == .winograd else { continue }
            checked += 1
            try f.load("weight", into: store.value(layer.weight), count: layer.weight.count)
            if let b = layer.bias { try f.load("bias", into: store.value(b), count: b.count) }
            let y = layer.forward(x)
            let dx = layer.backward(dy, input: x, inputGradient: true)!
            // The convolution the layer runs (a transposed layer is the adjoint of one), and the bounds
            // of its products mapped to the layer's (y, dx, dW).
            let n = x.shape[0]
            let w = try f.values("weight")
            let yb, dxb, dwb: [Float]
            if transposed {
                let g = ConvGeometry(channels: cout, height: y.shape[2], width: y.shape[3], outChannels: cin,
                                     kernel: kernel, stride: stride, padding: padding)
                let b = Self.roundingBounds(WinogradPlan(g), batch: n, x: dy.array, w: w, dy: x.array)
                (yb, dxb, dwb) = (b.dx, b.y, b.dw)
            } else {
                let g = ConvGeometry(channels: cin, height: x.shape[2], width: x.shape[3], outChannels: cout,
                                     kernel: kernel, stride: stride, padding: padding)
                (yb, dxb, dwb) = Self.roundingBounds(WinogradPlan(g), batch: n, x: x.array, w: w, dy: dy.array)
            }
            for (got, key, bound) in [(y.array, "y", yb), (dx.array, "dx", dxb), (store.gradientArray(layer.weight), "dweight", dwb)] {
                let ref = try f.values(key)
                let scale = max(1, ref.map(abs).max() ?? 0)
                XCTAssertEqual(got.count, ref.count, "\(name).\(key)")
                var worst: Float = 0
                for i in 0..<min(got.count, ref.count) {
                    let allowed = bound[i] + 1e-5 * abs(ref[i]) + 1e-6 * scale
                    worst = max(worst, abs(got[i] - ref[i]) / allowed)
                }
                XCTAssertLessThanOrEqual(worst, 1, "\(name).\(key) (worst error / allowed)")
            }
            if let b = layer.bias {
                assertClose(store.gradientArray(b), try f.values("dbias"), rtol: 1e-5, atol: 1e-6, "\(name).dbias")
            }
        }
        // 3×3 s1, 12×12 s2, 4×4 s2 convolutions and both 4×4 s2 transposed fixtures.
        XCTAssertEqual(checked, 5, "Winograd-eligible fixtures")
    }

    /// The weight gradient's second products (dx for a convolution, y for a transposed one's dx) equal
    /// the standalone passes bit for bit: they share the transformed tiles but not the arithmetic order.
    func testSecondProductsEqualStandalonePasses() {
        let c = Self.cases[2]
        let g = geometry(c), plan = WinogradPlan(g)
        let x = Self.random(c.n * g.inputPerSample, seed: 1)
        let w = Self.random(g.outChannels * g.channels * g.kh * g.kw, seed: 2)
        let dy = Self.random(c.n * g.outputPerSample, seed: 3)
        let s = ConvScratch()
        var dx1 = [Float](repeating: 0, count: x.count), dx2 = dx1, y1 = [Float](repeating: 0, count: dy.count), y2 = y1
        var dw = [Float](repeating: 0, count: w.count)
        plan.correlateAdjoint(dy, batch: c.n, weight: w, bias: nil, into: &dx1, scratch: s)
        dx2.withUnsafeMutableBufferPointer { p in
            plan.weightGradient(input: x, outputGradient: dy, batch: c.n, weight: w, accumulateInto: &dw,
                                then: .adjoint(into: p.baseAddress!), scratch: s)
        }
        XCTAssertEqual(dx1, dx2)
        plan.correlate(x, batch: c.n, weight: w, bias: nil, into: &y1, scratch: s)
        y2.withUnsafeMutableBufferPointer { p in
            plan.weightGradient(input: x, outputGradient: dy, batch: c.n, weight: w, accumulateInto: &dw,
                                then: .correlation(into: p.baseAddress!), scratch: s)
        }
        XCTAssertEqual(y1, y2)
    }

    /// A training forward pass keeps the input's row transforms and the backward reads them instead of
    /// recomputing them: dW, db and dx are the same bits either way, at one and two threads (the
    /// forward and the backward may cut the batch into different chunks). The direct lowering keeps
    /// nothing.
    func testKeptRowTransformsGiveTheSameGradients() {
        for (i, c) in Self.cases.enumerated() {
            for threads in [1, 2] {
                let store = ParameterStore(seed: UInt64(150 + i))
                let conv = Conv2d(store: store, name: "c", inChannels: c.c, outChannels: c.o, kernel: (c.k, c.k),
                                  stride: (c.s, c.s), padding: (c.p, c.p))
                conv.algorithm = .winograd
                conv.budget = ComputeBudget(threads: threads)
                let x = GradientCheck.random([c.n, c.c, c.h, c.w], seed: UInt64(160 + i))
                let (y, kept) = conv.forward(x, keep: true)
                XCTAssertEqual(y.array, conv.forward(x).array, "keeping does not change the output")
                guard let kept else { XCTFail("a Winograd layer keeps its row transforms"); continue }
                let dy = GradientCheck.random(y.shape, seed: UInt64(170 + i))
                func gradients(_ kept: Tensor?) -> [[Float]] {
                    store.zeroGradients()
                    let dx = conv.backward(dy, input: x, inputGradient: true, biasGradient: true, kept: kept)!
                    return [dx.array, store.gradientArray(conv.weight), store.gradientArray(conv.bias!)]
                }
                XCTAssertEqual(gradients(kept), gradients(nil), "\(c.label) threads \(threads)")
            }
        }
        let store = ParameterStore(seed: 1)
        let direct = Conv2d(store: store, name: "d", inChannels: 3, outChannels: 4, kernel: (3, 3), padding: (1, 1))
        direct.algorithm = .direct
        XCTAssertNil(direct.forward(GradientCheck.random([2, 3, 8, 8], seed: 2), keep: true).kept)
    }

    /// The Winograd engine's phase order (`WinogradPlan.phaseOrder`) is a permutation wherever it
    /// exists, and a weight gradient written in it (`addWeightGradient(inPhaseOrder:)`) holds the same
    /// bits as the kernel-order one, each in the place the order names.
    func testWinogradPhaseOrderRearrangesTheKernelGradient() {
        for (k, s, cin, cout) in [(12, 2, 3, 4), (3, 1, 5, 2), (4, 2, 2, 3), (3, 2, 2, 2)] {
            let g = ConvGeometry(channels: cin, height: 20, width: 24, outChannels: cout, kernel: (k, k), stride: (s, s), padding: (1, 1))
            let plan = WinogradPlan(g)
            guard let order = plan.phaseOrder else {
                XCTAssertNotEqual(k % s, 0, "k \(k) s \(s): a phase order whenever k is a multiple of s")
                continue
            }
            let positions = order.positions(), n = cout * cin * k * k
            XCTAssertEqual(Set(positions).count, n, "k \(k) s \(s): a permutation")
            XCTAssertEqual(positions.map(Int.init).max(), n - 1)
            var rng = RNG(seed: UInt64(k * 10 + s))
            let du = (0..<plan.transformedWeightFloats).map { _ in rng.uniformFloat() * 2 - 1 }
            var kernel = [Float](repeating: .nan, count: n), phases = kernel
            plan.addWeightGradient(du, into: &kernel, overwrite: true)
            plan.addWeightGradient(du, into: &phases, overwrite: true, inPhaseOrder: true)
            for j in 0..<n where phases[j].bitPattern != kernel[Int(positions[j])].bitPattern {
                XCTFail("k \(k) s \(s): entry \(j) \(phases[j]) vs kernel tap \(positions[j]) \(kernel[Int(positions[j])])")
                break
            }
        }
    }

    /// Through the layers: Conv2d and ConvTranspose2d with `.winograd` pass the same finite-difference
    /// checks as the direct lowering, biases included.
    func testLayerGradientsByFiniteDifferences() {
        for (i, c) in Self.cases.enumerated() {
            let store = ParameterStore(seed: UInt64(50 + i))
            let conv = Conv2d(store: store, name: "c", inChannels: c.c, outChannels: c.o, kernel: (c.k, c.k),
                              stride: (c.s, c.s), padding: (c.p, c.p))
            conv.algorithm = .winograd
            XCTAssertEqual(conv.resolvedAlgorithm(height: c.h, width: c.w), .winograd)
            let x = GradientCheck.random([c.n, c.c, c.h, c.w], seed: UInt64(60 + i))
            let r = GradientCheck.random(conv.forward(x).shape, seed: UInt64(70 + i))
            let dx = conv.backward(r, input: x)!
            let loss = { GradientCheck.dot(r, conv.forward(x)) }
            GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, label: "dx \(c.label)", loss: loss)
            GradientCheck.compare(values: store.value(conv.weight), count: conv.weight.count,
                                  analytic: store.gradientArray(conv.weight), label: "dW \(c.label)", loss: loss)

            // The transposed layer whose adjoint this convolution is: input = the conv's output.
            let t = ConvTranspose2d(store: store, name: "t", inChannels: c.o, outChannels: c.c, kernel: (c.k, c.k),
                                    stride: (c.s, c.s), padding: (c.p, c.p))
            t.algorithm = .winograd
            let g = geometry(c)
            let tx = GradientCheck.random([c.n, c.o, g.oh, g.ow], seed: UInt64(80 + i))
            let out = t.forward(tx)
            guard out.shape[2] >= 1 else { continue }
            let tr = GradientCheck.random(out.shape, seed: UInt64(90 + i))
            let tdx = t.backward(tr, input: tx)!
            let tloss = { GradientCheck.dot(tr, t.forward(tx)) }
            GradientCheck.compare(values: tx.data, count: tx.count, analytic: tdx.array, label: "T dx \(c.label)", loss: tloss)
            GradientCheck.compare(values: store.value(t.weight), count: t.weight.count,
                                  analytic: store.gradientArray(t.weight), label: "T dW \(c.label)", loss: tloss)
            GradientCheck.compare(values: store.value(t.bias!), count: t.bias!.count,
                                  analytic: store.gradientArray(t.bias!), label: "T db \(c.label)", loss: tloss)
        }
    }

    /// The Toom-Cook identity itself, in Float64: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation for every
    /// tile size the plans use.
    func testToomCookTransformsComputeCorrelation() {
        for (m, r) in [(4, 3), (3, 6), (6, 2), (2, 2), (2, 3), (5, 4)] {
            let t = ToomCook(m: m, r: r), a = t.alpha
            var rng = RNG(seed: UInt64(m * 10 + r))
            let d = (0..<a).map { _ in Double(rng.uniformFloat()) - 0.5 }
            let gg = (0..<r).map { _ in Double(rng.uniformFloat()) - 0.5 }
            var prod = [Double](repeating: 0, count: a)
            for x in 0..<a {
                var gx = 0.0, dx = 0.0
                for k in 0..<r { gx += t.g[x * r + k] * gg[k] }
                for k in 0..<a { dx += t.bt[x * a + k] * d[k] }
                prod[x] = gx * dx
            }
            for i in 0..<m {
                var y = 0.0, exact = 0.0
                for x in 0..<a { y += t.at[i * a + x] * prod[x] }
                for k in 0..<r { exact += gg[k] * d[i + k] }
                XCTAssertEqual(y, exact, accuracy: 1e-12, "F(\(m), \(r)) output \(i)")
            }
        }
    }
}
