import Foundation
import XCTest
@testable import Core

final class ActivationTests: XCTestCase {
    /// Finite differences for each activation, through its output-only backward.
    func testGradientsMatchFiniteDifferences() {
        for (k, act) in Activation.allCases.enumerated() {
            let x = GradientCheck.random([2, 3, 4, 5], seed: 100 + UInt64(k), lo: -3, hi: 3)
            // Keep ReLU probes off its kink, where a central difference straddles two slopes.
            for i in 0..<x.count where abs(x[i]) < 0.05 { x[i] += x[i] >= 0 ? 0.1 : -0.1 }
            let r = GradientCheck.random(x.shape, seed: 200 + UInt64(k))
            let y = act.forward(x)
            let dx = act.backward(r, output: y)
            GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, step: 1e-3,
                                  label: "\(act) dx", loss: { GradientCheck.dot(r, act.forward(x)) })
        }
    }

    func testValuesAtKnownPoints() {
        let x = Tensor(shape: [5], values: [-2, -0.5, 0, 0.5, 2])
        XCTAssertEqual(Activation.relu.forward(x).array, [0, 0, 0, 0.5, 2])
        let s = Activation.sigmoid.forward(x).array
        for (i, v) in x.array.enumerated() { XCTAssertEqual(s[i], 1 / (1 + exp(-v)), accuracy: 1e-7) }
        let t = Activation.tanh.forward(x).array
        for (i, v) in x.array.enumerated() { XCTAssertEqual(t[i], tanh(v), accuracy: 1e-7) }
        // ReLU's gradient at exactly 0 is 0 (PyTorch's convention).
        XCTAssertEqual(Activation.relu.backward(Tensor(shape: [5], repeating: 1), output: Activation.relu.forward(x)).array,
                       [0, 0, 0, 1, 1])
    }

    /// Saturated inputs give finite values in [0, 1] / [−1, 1], never NaN (σ of −100 must not be 0/0).
    func testSaturationIsFinite() {
        let x = Tensor(shape: [4], values: [-200, -90, 90, 200])
        let s = Activation.sigmoid.forward(x).array
        XCTAssertEqual(s[0], 0, accuracy: 1e-30); XCTAssertEqual(s[3], 1)
        XCTAssertTrue(s.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
        let t = Activation.tanh.forward(x).array
        XCTAssertEqual(t, [-1, -1, 1, 1])
        let g = Activation.sigmoid.backward(Tensor(shape: [4], repeating: 1), output: Activation.sigmoid.forward(x)).array
        XCTAssertTrue(g.allSatisfy { $0.isFinite && $0 >= 0 })
    }

    func testInPlaceVariantsMatch() {
        for act in Activation.allCases {
            let x = GradientCheck.random([2, 3, 4, 5], seed: 300, lo: -3, hi: 3)
            let dy = GradientCheck.random(x.shape, seed: 301)
            let y = act.forward(x), dx = act.backward(dy, output: y)
            let yy = x.copy(); act.forwardInPlace(yy)
            XCTAssertEqual(yy.array, y.array, "\(act) forwardInPlace")
            let g = dy.copy(); act.backwardInPlace(g, output: yy)
            XCTAssertEqual(g.array, dx.array, "\(act) backwardInPlace")
        }
    }

    func testRawValuesAreStable() {
        // Names appear in configs and reports.
        XCTAssertEqual(Activation.allCases.map(\.rawValue), ["relu", "sigmoid", "tanh"])
    }

    /// 16×67×64×128: prints forward/backward times for each activation (best of 2).
    func testLargeTensorTiming() {
        let x = GradientCheck.random([16, 67, 64, 128], seed: 5, lo: -3, hi: 3)
        for act in Activation.allCases {
            var fwd = Double.infinity, bwd = Double.infinity
            var y = x
            for _ in 0..<2 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                y = act.forward(x)
                let t1 = DispatchTime.now().uptimeNanoseconds
                _ = act.backward(x, output: y)
                let t2 = DispatchTime.now().uptimeNanoseconds
                fwd = min(fwd, Double(t1 - t0) / 1e6); bwd = min(bwd, Double(t2 - t1) / 1e6)
            }
            print(String(format: "%@ [16, 67, 64, 128]: forward %.1f ms, backward %.1f ms", act.rawValue, fwd, bwd))
            XCTAssertTrue((0..<1000).allSatisfy { y[$0 * 8191].isFinite })
        }
    }
}
