import Foundation
import XCTest
@testable import Core

final class ContinuityRegularizerTests: XCTestCase {
    /// The penalty exactly as the reference codes it, in Double: pad each slice by one zero, put the
    /// padded grid on [0,1]², and take 2 × the mean over all (o, i, p, q, p', q') of
    /// exp(−‖x_pq − x_p'q'‖²/10)·(A[p',q'] − A[p,q])². Also its gradient, 8/(S·N²)·Σ κ·(A − A').
    private func bruteForce(_ w: [Float], _ shape: [Int], scale: Double = 1) -> (Double, [Double]) {
        let (o, i, kh, kw) = (shape[0], shape[1], shape[2], shape[3])
        let (pp, qq) = (kh + 2, kw + 2)
        let n = pp * qq, slices = o * i
        var kernel = [Double](repeating: 0, count: n * n)
        for a in 0..<n {
            for b in 0..<n {
                let dy = Double(a / qq - b / qq) / Double(pp - 1), dx = Double(a % qq - b % qq) / Double(qq - 1)
                kernel[a * n + b] = exp(-(dy * dy + dx * dx) / 10)
            }
        }
        var sum = 0.0
        var grad = [Double](repeating: 0, count: w.count)
        var padded = [Double](repeating: 0, count: n)
        for s in 0..<slices {
            for p in 0..<kh { for q in 0..<kw { padded[(p + 1) * qq + q + 1] = Double(w[s * kh * kw + p * kw + q]) } }
            for a in 0..<n {
                var ga = 0.0
                for b in 0..<n {
                    let diff = padded[b] - padded[a]
                    sum += kernel[a * n + b] * diff * diff
                    ga -= kernel[a * n + b] * diff
                }
                let (p, q) = (a / qq - 1, a % qq - 1)
                if p >= 0, p < kh, q >= 0, q < kw { grad[s * kh * kw + p * kw + q] = ga }
            }
        }
        let mean = sum / Double(slices * n * n)
        let gscale = 8 * scale / Double(slices * n * n)
        return (2 * scale * mean, grad.map { $0 * gscale })
    }

    private func run(_ w: [Float], _ shape: [Int], scale: Float = 1, gradient: inout [Float]) -> Double {
        let reg = ContinuityRegularizer(kernelHeight: shape[2], kernelWidth: shape[3])
        return w.withUnsafeBufferPointer { wp in
            gradient.withUnsafeMutableBufferPointer { gp in
                reg.apply(weight: wp.baseAddress!, outChannels: shape[0], inChannels: shape[1], scale: scale,
                          gradient: gp.baseAddress!)
            }
        }
    }

    private func randomWeights(_ shape: [Int], seed: UInt64, bound: Float = 1) -> [Float] {
        GradientCheck.random(shape, seed: seed, lo: -bound, hi: bound).array
    }

    /// Worst |a − b| / max|b| over a gradient.
    private func relativeMaxError(_ a: [Float], _ b: [Double]) -> Double {
        let scale = b.map(abs).max() ?? 1
        return zip(a, b).map { abs(Double($0) - $1) }.max()! / scale
    }

    func testMatchesBruteForceFormula() {
        let shapes = [[2, 3, 5, 4], [4, 2, 12, 12], [3, 1, 6, 6], [2, 2, 8, 8], [1, 3, 10, 10], [2, 1, 3, 9], [1, 1, 1, 1]]
        for (k, shape) in shapes.enumerated() {
            // A non-zero mean per slice so the discounted constant mode is exercised too.
            let w = randomWeights(shape, seed: UInt64(10 + k)).map { $0 + 0.3 }
            var g = [Float](repeating: 0, count: w.count)
            let value = run(w, shape, gradient: &g)
            let (expected, expectedGrad) = bruteForce(w, shape)
            XCTAssertEqual(value, expected, accuracy: 1e-5 * expected, "value \(shape)")
            XCTAssertLessThanOrEqual(relativeMaxError(g, expectedGrad), 1e-5, "gradient \(shape)")
        }
    }

    func testGradientMatchesFiniteDifferences() {
        for (k, shape) in [[2, 3, 12, 12], [3, 2, 5, 7]].enumerated() {
            var w = randomWeights(shape, seed: UInt64(30 + k), bound: 0.5)
            var g = [Float](repeating: 0, count: w.count)
            _ = run(w, shape, scale: 3, gradient: &g)
            let reg = ContinuityRegularizer(kernelHeight: shape[2], kernelWidth: shape[3])
            w.withUnsafeMutableBufferPointer { wp in
                let base = wp.baseAddress!
                GradientCheck.compare(values: base, count: wp.count, analytic: g, probes: 60, rtol: 1e-2,
                                      atol: 1e-6, label: "dJ/dW \(shape)") {
                    reg.apply(weight: base, outChannels: shape[0], inChannels: shape[1], scale: 3, gradient: nil)
                }
            }
        }
    }

    /// Values and autograd gradients of the reference's O(K⁴) formula, computed by torch in float64
    /// from float32 weights (tools/make_regularizer_fixtures.py), including the circle ×10 variant.
    func testMatchesTorchReferenceFixtures() throws {
        let file = try RegFixtureLoader.load("regularizer_fixtures.json", as: RegFixtureLoader.RegularizerFile.self)
        XCTAssertEqual(file.cases.count, 4)
        for c in file.cases {
            var g = [Float](repeating: 0, count: c.weight.count)
            let value = run(c.weight, c.shape, scale: Float(c.scale), gradient: &g)
            let gradientError = relativeMaxError(g, c.gradient)
            print(String(format: "regularizer fixture %@: value rel. error %.2e, gradient max error / max|g| %.2e",
                         c.name, abs(value - c.value) / c.value, gradientError))
            XCTAssertEqual(value, c.value, accuracy: 1e-5 * c.value, c.name)
            XCTAssertLessThanOrEqual(gradientError, 1e-5, "\(c.name) gradient")
        }
    }

    /// docs/method.md §Regularizer: at PyTorch's default Conv2d init U(±1/√(I·kh·kw)), J ≈ 2.2e-3, 4.1e-4 and
    /// 2.0e-4 for the three CpAE layers and 5.2e-4 for the 32×1×48×48 circle layer (before ×10).
    func testDefaultInitMagnitudes() {
        let cases: [([Int], Double)] = [([16, 3, 12, 12], 2.2e-3), ([32, 16, 12, 12], 4.1e-4),
                                        ([64, 32, 12, 12], 2.0e-4), ([32, 1, 48, 48], 5.2e-4)]
        for (k, (shape, expected)) in cases.enumerated() {
            let bound = 1 / Float(shape[1] * shape[2] * shape[3]).squareRoot()
            let w = randomWeights(shape, seed: UInt64(50 + k), bound: bound)
            let reg = ContinuityRegularizer(kernelHeight: shape[2], kernelWidth: shape[3])
            let value = reg.apply(weight: w, outChannels: shape[0], inChannels: shape[1], scale: 1, gradient: nil)
            XCTAssertEqual(value, expected, accuracy: 0.08 * expected, "\(shape)")
        }
    }

    func testGradientAccumulatesAndScaleIsLinear() {
        let shape = [3, 2, 12, 12]
        let w = randomWeights(shape, seed: 70)
        var g1 = [Float](repeating: 0, count: w.count)
        let v1 = run(w, shape, scale: 1, gradient: &g1)
        var g2 = [Float](repeating: 0.25, count: w.count)
        let v2 = run(w, shape, scale: 10, gradient: &g2)
        XCTAssertEqual(v2, 10 * v1, accuracy: 1e-6 * v2)
        for i in 0..<w.count { XCTAssertEqual(g2[i], 0.25 + 10 * g1[i], accuracy: 1e-5 * (1 + abs(g2[i]))) }
        // The value without a gradient is the same, and ½⟨w, ∇J⟩ = J (J is a quadratic form).
        let reg = ContinuityRegularizer(kernelHeight: 12, kernelWidth: 12)
        XCTAssertEqual(reg.apply(weight: w, outChannels: 3, inChannels: 2, scale: 1, gradient: nil), v1)
        let half = 0.5 * zip(w, g1).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(half, v1, accuracy: 1e-5 * v1)
    }

    /// The penalty pulls toward zero but discounts each slice's mean (docs/method.md §Regularizer): a constant slice costs
    /// about 3.8× less than a zero-mean slice of the same energy at K = 12.
    func testConstantModeIsDiscounted() {
        let shape = [1, 1, 12, 12]
        let constant = [Float](repeating: 1, count: 144)
        let checker = (0..<144).map { Float(($0 / 12 + $0 % 12) % 2 == 0 ? 1 : -1) }
        var g = [Float](repeating: 0, count: 144)
        let jc = run(constant, shape, gradient: &g)
        let jk = run(checker, shape, gradient: &g)
        XCTAssertGreaterThan(jc, 0)
        XCTAssertEqual(jk / jc, 189.7 / 49.6, accuracy: 0.1)
    }

    func testL2PenaltyAndDispatch() {
        let shape = [4, 3, 5, 5]
        var w = randomWeights(shape, seed: 80)
        let count = w.count
        var g = [Float](repeating: 1, count: count)
        let value = l2Penalty(weight: w, count: count, scale: 2, gradient: &g)
        let expected = 2 * w.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(count)
        XCTAssertEqual(value, expected, accuracy: 1e-12)
        for i in 0..<count { XCTAssertEqual(g[i], 1 + 4 * w[i] / Float(count), accuracy: 1e-6) }
        var fresh = [Float](repeating: 0, count: count)
        _ = l2Penalty(weight: w, count: count, scale: 2, gradient: &fresh)
        w.withUnsafeMutableBufferPointer { wp in
            let base = wp.baseAddress!
            GradientCheck.compare(values: base, count: count, analytic: fresh, rtol: 1e-2, atol: 1e-6, label: "dL2/dW") {
                l2Penalty(weight: base, count: count, scale: 2, gradient: nil)
            }
        }

        let reg = ContinuityRegularizer(kernelHeight: 5, kernelWidth: 5)
        var gn = [Float](repeating: 0.5, count: count)
        XCTAssertEqual(reg.penalty(.none, weight: w, outChannels: 4, inChannels: 3, scale: 1, gradient: &gn), 0)
        XCTAssertTrue(gn.allSatisfy { $0 == 0.5 })
        XCTAssertEqual(reg.penalty(.l2, weight: w, outChannels: 4, inChannels: 3, scale: 2, gradient: nil), value)
        XCTAssertEqual(reg.penalty(.continuity, weight: w, outChannels: 4, inChannels: 3, scale: 1, gradient: nil),
                       reg.apply(weight: w, outChannels: 4, inChannels: 3, scale: 1, gradient: nil))
    }
}
