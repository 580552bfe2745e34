import XCTest
@testable import Core

final class ODEFastTanhTests: XCTestCase {
    /// The approximation against float64 tanh on a dense grid, through both the SIMD and the scalar
    /// path. The result is CPU-independent (plain IEEE operations, no FMA contraction), so the bound
    /// holds on every host: 4 ulp of 1.0 absolute, 2⁻²¹ ≈ 4.8e-7, i.e. within a few float32 roundings
    /// of the exact value (float32 tanh itself rounds to ≤ 0.5 ulp ≈ 6e-8 near ±1).
    func testAccuracyAgainstFloat64() {
        let n = 80_001
        var x = (0..<n).map { Float(-10 + 20 * Double($0) / Double(n - 1)) }
        x += [0, -0, 1e-8, -1e-8, 3.9e-4, 4.1e-4, 7.9, 8, 50, -50, .greatestFiniteMagnitude, -.infinity, .infinity]
        let y = x
        var simd = x
        // biasTanh over one row of all the values runs the SIMD path and the scalar tail.
        simd.withUnsafeMutableBufferPointer { p in
            var bias = [Float](repeating: 0, count: p.count)
            bias.withUnsafeMutableBufferPointer { FastTanh.biasTanh(p.baseAddress!, rows: 1, cols: p.count, bias: $0.baseAddress!) }
        }
        var worst = 0.0
        for (i, v) in y.enumerated() {
            let exact = Foundation.tanh(Double(v))
            worst = max(worst, abs(Double(simd[i]) - exact), abs(Double(FastTanh.tanh(v)) - exact))
        }
        XCTAssertLessThanOrEqual(worst, 4 * Double(Float.ulpOfOne), "worst absolute error \(worst)")
        XCTAssertTrue(FastTanh.tanh(.nan).isNaN)
        var nanRow: [Float] = Array(repeating: .nan, count: 9)
        var b = [Float](repeating: 0, count: 9)
        nanRow.withUnsafeMutableBufferPointer { p in b.withUnsafeMutableBufferPointer { FastTanh.biasTanh(p.baseAddress!, rows: 1, cols: 9, bias: $0.baseAddress!) } }
        XCTAssertTrue(nanRow.allSatisfy(\.isNaN), "NaN must propagate through the SIMD path, not be clamped away")
        // Near 0 the relative error matters (tanh x ≈ x): the tiny-argument branch keeps it exact.
        XCTAssertEqual(FastTanh.tanh(1e-8), 1e-8)
    }
}
