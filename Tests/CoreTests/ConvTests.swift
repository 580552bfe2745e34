import XCTest
import Foundation
@testable import Core

/// Conv2d and ConvTranspose2d against direct loops (forward) and finite differences (backward).
final class ConvTests: XCTestCase {
    struct Case {
        let n, cin, cout, h, w: Int
        let k: (Int, Int), s: (Int, Int), p: (Int, Int)
        var label: String { "N\(n) \(cin)→\(cout) \(h)×\(w) k\(k) s\(s) p\(p)" }
    }

    static let convCases: [Case] = [
        Case(n: 2, cin: 3, cout: 4, h: 7, w: 9, k: (3, 3), s: (1, 1), p: (1, 1)),
        Case(n: 2, cin: 2, cout: 3, h: 8, w: 10, k: (4, 4), s: (2, 2), p: (1, 1)),
        Case(n: 2, cin: 3, cout: 2, h: 5, w: 8, k: (3, 4), s: (1, 2), p: (1, 1)),
        Case(n: 2, cin: 2, cout: 3, h: 14, w: 18, k: (12, 12), s: (2, 2), p: (5, 5)),
        Case(n: 3, cin: 2, cout: 2, h: 9, w: 11, k: (3, 3), s: (2, 2), p: (0, 0)),   // rows left over
        Case(n: 2, cin: 64 / 16, cout: 3, h: 3, w: 2, k: (3, 4), s: (1, 2), p: (1, 1)), // stack-8 like
    ]

    static let transposedCases: [Case] = [
        Case(n: 2, cin: 3, cout: 4, h: 4, w: 5, k: (4, 4), s: (2, 2), p: (1, 1)),
        Case(n: 2, cin: 3, cout: 2, h: 1, w: 1, k: (3, 4), s: (1, 2), p: (1, 1)),       // 1×1 → 1×2
        Case(n: 2, cin: 2, cout: 3, h: 3, w: 4, k: (3, 4), s: (1, 2), p: (1, 1)),
        Case(n: 2, cin: 2, cout: 3, h: 5, w: 6, k: (3, 3), s: (1, 1), p: (1, 1)),
        Case(n: 2, cin: 2, cout: 2, h: 4, w: 4, k: (12, 12), s: (2, 2), p: (5, 5)),
        Case(n: 3, cin: 2, cout: 2, h: 3, w: 3, k: (3, 3), s: (2, 2), p: (0, 0)),
    ]

    // MARK: direct references (Double accumulation)

    static func directConv(_ x: Tensor, _ w: [Float], _ b: [Float]?, _ c: Case) -> [Float] {
        let oh = (c.h + 2 * c.p.0 - c.k.0) / c.s.0 + 1, ow = (c.w + 2 * c.p.1 - c.k.1) / c.s.1 + 1
        var y = [Float](repeating: 0, count: c.n * c.cout * oh * ow)
        for n in 0..<c.n { for o in 0..<c.cout { for i in 0..<oh { for j in 0..<ow {
            var s = Double(b?[o] ?? 0)
            for ci in 0..<c.cin { for u in 0..<c.k.0 { for v in 0..<c.k.1 {
                let yy = i * c.s.0 - c.p.0 + u, xx = j * c.s.1 - c.p.1 + v
                guard yy >= 0, yy < c.h, xx >= 0, xx < c.w else { continue }
                s += Double(x[((n * c.cin + ci) * c.h + yy) * c.w + xx]) * Double(w[((o * c.cin + ci) * c.k.0 + u) * c.k.1 + v])
            } } }
            y[((n * c.cout + o) * oh + i) * ow + j] = Float(s)
        } } } }
        return y
    }

    /// Scatter form, straight from the definition: x[ci,i,j]·w[ci,co,u,v] lands on (i·s−p+u, j·s−p+v).
    static func directTransposed(_ x: Tensor, _ w: [Float], _ b: [Float]?, _ c: Case) -> [Float] {
        let oh = (c.h - 1) * c.s.0 - 2 * c.p.0 + c.k.0, ow = (c.w - 1) * c.s.1 - 2 * c.p.1 + c.k.1
        var y = [Double](repeating: 0, count: c.n * c.cout * oh * ow)
        for n in 0..<c.n { for co in 0..<c.cout { for i in 0..<oh * ow { y[(n * c.cout + co) * oh * ow + i] = Double(b?[co] ?? 0) } } }
        for n in 0..<c.n { for ci in 0..<c.cin { for i in 0..<c.h { for j in 0..<c.w {
            let xv = Double(x[((n * c.cin + ci) * c.h + i) * c.w + j])
            for co in 0..<c.cout { for u in 0..<c.k.0 { for v in 0..<c.k.1 {
                let yy = i * c.s.0 - c.p.0 + u, xx = j * c.s.1 - c.p.1 + v
                guard yy >= 0, yy < oh, xx >= 0, xx < ow else { continue }
                y[((n * c.cout + co) * oh + yy) * ow + xx] += xv * Double(w[((ci * c.cout + co) * c.k.0 + u) * c.k.1 + v])
            } } }
        } } } }
        return y.map(Float.init)
    }

    static func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ label: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, label, file: file, line: line)
        var worst: Float = 0
        for i in 0..<min(a.count, b.count) { worst = max(worst, abs(a[i] - b[i]) / (1 + abs(b[i]))) }
        XCTAssertLessThanOrEqual(worst, tol, "\(label): worst relative error \(worst)", file: file, line: line)
    }

    // MARK: forward

    func testConvForwardMatchesDirectLoops() {
        for (i, c) in Self.convCases.enumerated() {
            let store = ParameterStore(seed: UInt64(10 + i))
            let conv = Conv2d(store: store, name: "c", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
            let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: UInt64(100 + i))
            let y = conv.forward(x)
            let (oh, ow) = conv.outputSize(height: c.h, width: c.w)
            XCTAssertEqual(y.shape, [c.n, c.cout, oh, ow], c.label)
            let ref = Self.directConv(x, store.valueArray(conv.weight), store.valueArray(conv.bias!), c)
            Self.assertClose(y.array, ref, tol: 1e-5, c.label)
        }
    }

    func testTransposedForwardMatchesDirectScatter() {
        for (i, c) in Self.transposedCases.enumerated() {
            let store = ParameterStore(seed: UInt64(20 + i))
            let t = ConvTranspose2d(store: store, name: "t", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
            let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: UInt64(200 + i))
            let y = t.forward(x)
            let (oh, ow) = t.outputSize(height: c.h, width: c.w)
            XCTAssertEqual(y.shape, [c.n, c.cout, oh, ow], c.label)
            let ref = Self.directTransposed(x, store.valueArray(t.weight), store.valueArray(t.bias!), c)
            Self.assertClose(y.array, ref, tol: 1e-5, c.label)
        }
    }

    func testStride2Kernel4Pad1TransposedDoublesSize() {
        let store = ParameterStore(seed: 1)
        let t = ConvTranspose2d(store: store, name: "t", inChannels: 67, outChannels: 64, kernel: (4, 4), stride: (2, 2), padding: (1, 1))
        XCTAssertTrue(t.outputSize(height: 8, width: 16) == (16, 32))
        XCTAssertEqual(t.multiplyAdds(height: 8, width: 16), 67 * 64 * 16 * 8 * 16)
        XCTAssertEqual(store.parameter(named: "t.weight")?.shape, [67, 64, 4, 4])
        let conv = Conv2d(store: store, name: "c", inChannels: 3, outChannels: 16, kernel: (12, 12), stride: (2, 2), padding: (5, 5))
        XCTAssertTrue(conv.outputSize(height: 128, width: 256) == (64, 128))
        XCTAssertEqual(conv.multiplyAdds(height: 128, width: 256), 56_623_104)   // docs/method.md §Architectures: 56.6 M
    }

    /// Several small chunks, and two threads (batch split over workers, per-worker dW summed), give
    /// the same numbers as one thread with whole-batch chunks, for both layer kinds.
    func testChunkingAndThreadsDoNotChangeResults() {
        let c = Case(n: 5, cin: 3, cout: 4, h: 14, w: 18, k: (12, 12), s: (2, 2), p: (5, 5))
        let store = ParameterStore(seed: 3)
        let conv = Conv2d(store: store, name: "c", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
        let t = ConvTranspose2d(store: store, name: "t", inChannels: c.cout, outChannels: c.cin, kernel: (4, 4), stride: (2, 2), padding: (1, 1))
        let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: 4)
        func run() -> [[Float]] {
            store.zeroGradients()
            let y = conv.forward(x)
            let z = t.forward(y)
            let dz = GradientCheck.random(z.shape, seed: 5)
            let dy = t.backward(dz, input: y)!
            let dx = conv.backward(dy, input: x)!
            return [y.array, z.array, dy.array, dx.array, store.gradientArray(conv.weight), store.gradientArray(conv.bias!),
                    store.gradientArray(t.weight), store.gradientArray(t.bias!)]
        }
        let reference = run()   // the default budget: one thread
        conv.scratch.loweredBudget = 1          // one sample per chunk
        t.scratch.loweredBudget = 1
        conv.budget = ComputeBudget(threads: 2)
        t.budget = ComputeBudget(threads: 2)
        let chunked = run()
        for (i, label) in ["y", "z", "dy", "dx", "dW", "db", "dWt", "dbt"].enumerated() {
            Self.assertClose(chunked[i], reference[i], tol: 1e-5, label)
        }
    }

    /// The direct lowering's two GEMM layouts — one GEMM per output row, or (short chunks, e.g. the
    /// deterministic mode's one-sample units) one GEMM over every output row's K-vectors stacked —
    /// give the same forward, input gradient and weight gradient up to rounding, for a convolution
    /// and a transposed convolution. Tolerance from the error bound of two orderings of the same
    /// n-term sums: |a − b| ≤ 2·γₙ·Σ|terms|, γₙ = n·2⁻²⁴, with Σ|terms| from the same layer run on
    /// the operands' magnitudes.
    func testDirectLoweringRowGEMMsAndStackedGEMMAgree() {
        let c = Case(n: 3, cin: 5, cout: 6, h: 12, w: 14, k: (4, 4), s: (2, 2), p: (1, 1))
        let store = ParameterStore(seed: 7)
        let conv = Conv2d(store: store, name: "c", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
        let t = ConvTranspose2d(store: store, name: "t", inChannels: c.cout, outChannels: c.cin, kernel: (4, 4), stride: (2, 2), padding: (1, 1))
        conv.algorithm = .direct
        t.algorithm = .direct
        let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: 8)
        let (oh, ow) = conv.outputSize(height: c.h, width: c.w)
        let dyC = GradientCheck.random([c.n, c.cout, oh, ow], seed: 9), dzT = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: 10)
        func run(_ x: Tensor, _ dyC: Tensor, _ dzT: Tensor) -> [[Float]] {
            store.zeroGradients()
            let y = conv.forward(x), z = t.forward(dyC)
            let dx = conv.backward(dyC, input: x)!, dy = t.backward(dzT, input: dyC)!
            return [y.array, z.array, dx.array, dy.array, store.gradientArray(conv.weight), store.gradientArray(t.weight)]
        }
        func abs(_ a: Tensor) -> Tensor { Tensor(shape: a.shape, values: a.array.map { Swift.abs($0) }) }
        for layer in [conv.scratch, t.scratch] { layer.loweredBudget = 1 }   // one sample per chunk
        var results: [[[Float]]] = []
        for below in [0, Int.max] {
            conv.scratch.expandBelowRows = below
            t.scratch.expandBelowRows = below
            results.append(run(x, dyC, dzT))
        }
        // Σ|terms| per element: the same products on |operands|, weights included.
        let saved = (store.valueArray(conv.weight), store.valueArray(t.weight))
        for p in [conv.weight, t.weight] { for i in 0..<p.count { store.value(p)[i] = Swift.abs(store.value(p)[i]) } }
        let magnitude = run(abs(x), abs(dyC), abs(dzT))
        for (p, v) in [(conv.weight, saved.0), (t.weight, saved.1)] { for i in 0..<p.count { store.value(p)[i] = v[i] } }
        // Terms per sum: forward C·kh·kw (+ bias); input gradients O·kh·kw at most; weight gradients N·oh·ow (and N·h·w).
        let kk = c.k.0 * c.k.1
        let terms = [c.cin * kk + 1, c.cout * kk + 1, c.cout * kk, c.cin * kk, c.n * oh * ow, c.n * c.h * c.w]
        for (i, label) in ["conv y", "transposed z", "conv dx", "transposed dy", "conv dW", "transposed dW"].enumerated() {
            let bound = 2 * Float(terms[i]) * 0x1p-24
            var worst: Float = 0
            for j in results[0][i].indices {
                let allowed = bound * magnitude[i][j] * 1.01 + .leastNormalMagnitude
                worst = max(worst, Swift.abs(results[0][i][j] - results[1][i][j]) / allowed)
            }
            XCTAssertLessThanOrEqual(worst, 1, "\(label): worst difference over its bound")
        }
    }

    /// The weight reorders split over output channels (large enough to split: 16 × 32 × k × k, for
    /// k = 12 and the vectorised k = 4) give the same bits at 1 and 2 threads — each element is
    /// copied, or summed over the workers' gradients in their order, by one thread — and are the
    /// permutation they claim: w[o][c][u][v] ↔ w′[o][u][c][v].
    func testWeightReordersAreTheSameAtAnyThreadCount() {
        for k in [12, 4] {
            let g = ConvGeometry(channels: 32, height: 20, width: 20, outChannels: 16, kernel: (k, k), stride: (2, 2), padding: (1, 1))
            let n = 16 * 32 * k * k
            let w = GradientCheck.random([n], seed: 21), a = GradientCheck.random([n], seed: 22), b = GradientCheck.random([n], seed: 23)
            let initial = GradientCheck.random([n], seed: 24)
            var results: [[Float]] = []
            for threads in [1, 2] {
                let reordered = Tensor(zeros: [n]), sum = Tensor(shape: [n], values: initial.array)
                g.reorderWeight(w.data, into: reordered.data, threads: threads)
                g.addReorderedGradients([a.data, b.data], into: sum.data, threads: threads)
                results.append(reordered.array + sum.array)
            }
            XCTAssertEqual(results[0], results[1], "k = \(k)")
            for (o, c, u, v) in [(3, 7, 2, 1), (15, 31, k - 1, k - 1), (0, 0, 0, 0)] {
                let plain = ((o * 32 + c) * k + u) * k + v, lowered = ((o * k + u) * 32 + c) * k + v
                XCTAssertEqual(results[0][lowered], w[plain], "reorder, k = \(k)")
                XCTAssertEqual(results[0][n + plain], initial[plain] + a[lowered] + b[lowered], "gradient, k = \(k)")
            }
        }
    }

    // MARK: backward

    func testConvGradientsByFiniteDifferences() {
        for (i, c) in Self.convCases.enumerated() {
            let store = ParameterStore(seed: UInt64(30 + i))
            let conv = Conv2d(store: store, name: "c", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
            let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: UInt64(300 + i))
            let r = GradientCheck.random(conv.forward(x).shape, seed: UInt64(400 + i))
            let dx = conv.backward(r, input: x)!
            let loss = { GradientCheck.dot(r, conv.forward(x)) }
            GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, label: "dx \(c.label)", loss: loss)
            GradientCheck.compare(values: store.value(conv.weight), count: conv.weight.count,
                                  analytic: store.gradientArray(conv.weight), label: "dW \(c.label)", loss: loss)
            GradientCheck.compare(values: store.value(conv.bias!), count: conv.bias!.count,
                                  analytic: store.gradientArray(conv.bias!), label: "db \(c.label)", loss: loss)
        }
    }

    func testTransposedGradientsByFiniteDifferences() {
        for (i, c) in Self.transposedCases.enumerated() {
            let store = ParameterStore(seed: UInt64(40 + i))
            let t = ConvTranspose2d(store: store, name: "t", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
            let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: UInt64(500 + i))
            let r = GradientCheck.random(t.forward(x).shape, seed: UInt64(600 + i))
            let dx = t.backward(r, input: x)!
            let loss = { GradientCheck.dot(r, t.forward(x)) }
            GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, label: "dx \(c.label)", loss: loss)
            GradientCheck.compare(values: store.value(t.weight), count: t.weight.count,
                                  analytic: store.gradientArray(t.weight), label: "dW \(c.label)", loss: loss)
            GradientCheck.compare(values: store.value(t.bias!), count: t.bias!.count,
                                  analytic: store.gradientArray(t.bias!), label: "db \(c.label)", loss: loss)
        }
    }

    /// Gradients accumulate: two backward calls leave exactly twice one call's dW and db, dx is not
    /// affected by what is in the store, and inputGradient: false still accumulates dW and db.
    func testGradientsAccumulate() {
        let c = Case(n: 2, cin: 3, cout: 4, h: 10, w: 12, k: (4, 4), s: (2, 2), p: (1, 1))
        let store = ParameterStore(seed: 7)
        let conv = Conv2d(store: store, name: "c", inChannels: c.cin, outChannels: c.cout, kernel: c.k, stride: c.s, padding: c.p)
        let t = ConvTranspose2d(store: store, name: "t", inChannels: c.cout, outChannels: c.cin, kernel: c.k, stride: c.s, padding: c.p)
        let x = GradientCheck.random([c.n, c.cin, c.h, c.w], seed: 8)
        let h = conv.forward(x)
        let dh = GradientCheck.random(h.shape, seed: 9)
        let dz = GradientCheck.random(t.forward(h).shape, seed: 10)
        let dx1 = conv.backward(dh, input: x)!
        let dhT1 = t.backward(dz, input: h)!
        let once = store.gradientArray(conv.weight) + store.gradientArray(conv.bias!)
            + store.gradientArray(t.weight) + store.gradientArray(t.bias!)
        XCTAssertNil(conv.backward(dh, input: x, inputGradient: false))
        XCTAssertNil(t.backward(dz, input: h, inputGradient: false))
        let twice = store.gradientArray(conv.weight) + store.gradientArray(conv.bias!)
            + store.gradientArray(t.weight) + store.gradientArray(t.bias!)
        XCTAssertTrue(once.contains { $0 != 0 })
        for i in 0..<once.count { XCTAssertEqual(twice[i], 2 * once[i], accuracy: 1e-5 * (1 + abs(once[i])), "element \(i)") }
        let dx2 = conv.backward(dh, input: x)!, dhT2 = t.backward(dz, input: h)!
        XCTAssertEqual(dx1.array, dx2.array)
        XCTAssertEqual(dhT1.array, dhT2.array)
    }

    /// PyTorch default initialisation bounds: 1/√(Cin·kh·kw) for Conv2d, 1/√(Cout·kh·kw) for the
    /// transposed weight (fan-in from its dimension 1).
    func testInitialisationBounds() {
        let store = ParameterStore(seed: 11)
        let conv = Conv2d(store: store, name: "c", inChannels: 3, outChannels: 16, kernel: (12, 12), stride: (2, 2), padding: (5, 5))
        let t = ConvTranspose2d(store: store, name: "t", inChannels: 67, outChannels: 3, kernel: (4, 4), stride: (2, 2), padding: (1, 1))
        let cb = 1 / Float(3 * 144).squareRoot(), tb = 1 / Float(3 * 16).squareRoot()
        let cw = store.valueArray(conv.weight), tw = store.valueArray(t.weight)
        XCTAssertTrue(cw.allSatisfy { abs($0) <= cb }); XCTAssertGreaterThan(cw.map(abs).max()!, 0.9 * cb)
        XCTAssertTrue(tw.allSatisfy { abs($0) <= tb }); XCTAssertGreaterThan(tw.map(abs).max()!, 0.9 * tb)
        XCTAssertTrue(store.valueArray(t.bias!).allSatisfy { abs($0) <= tb })
    }
}
