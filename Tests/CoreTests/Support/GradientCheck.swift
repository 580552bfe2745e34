import XCTest
@testable import Core

/// Central finite differences in Float64 around Float32 code: a scalar loss L(x) and the analytic
/// gradient dL/dx are compared element by element on a random subset of coordinates.
///
/// Layers are checked through a random linear functional L = Σ r ⊙ f(x) so every output element
/// contributes; r is also the upstream gradient handed to the layer's backward.
enum GradientCheck {
    /// Compares `analytic` with finite differences of `loss` with respect to the `count` Floats at
    /// `values`, probing at most `probes` coordinates. Tolerance: |a − n| ≤ atol + rtol·max(|a|, |n|).
    static func compare(values: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
                        probes: Int = 40, step: Float = 1e-2, rtol: Float = 2e-2, atol: Float = 2e-3,
                        seed: UInt64 = 99, label: String, loss: () -> Double,
                        file: StaticString = #filePath, line: UInt = #line) {
        precondition(analytic.count == count)
        var rng = RNG(seed: seed)
        let indices = count <= probes ? Array(0..<count) : (0..<probes).map { _ in Int(rng.next() % UInt64(count)) }
        var worst: Float = 0
        for i in indices {
            let saved = values[i]
            values[i] = saved + step
            let plus = loss()
            values[i] = saved - step
            let minus = loss()
            values[i] = saved
            let numeric = Float((plus - minus) / (2 * Double(step)))
            let err = abs(numeric - analytic[i])
            let allowed = atol + rtol * max(abs(numeric), abs(analytic[i]))
            worst = max(worst, err / allowed)
            if err > allowed {
                XCTFail("\(label)[\(i)]: analytic \(analytic[i]) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
        XCTAssertLessThanOrEqual(worst, 1, label, file: file, line: line)
    }

    /// Σ r ⊙ y in Float64.
    static func dot(_ r: Tensor, _ y: Tensor) -> Double {
        precondition(r.count == y.count)
        var s = 0.0
        for i in 0..<r.count { s += Double(r[i]) * Double(y[i]) }
        return s
    }

    /// A tensor of uniform values in [lo, hi) from a seeded generator.
    static func random(_ shape: [Int], seed: UInt64, lo: Float = -1, hi: Float = 1) -> Tensor {
        var rng = RNG(seed: seed)
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t[i] = lo + (hi - lo) * rng.uniformFloat() }
        return t
    }
}
