import XCTest
@testable import Core

final class ODEMLPFieldTests: XCTestCase {
    /// Orthogonal weights (orthonormal rows when out ≤ in, columns when out > in), zero biases,
    /// stable names, the reference's parameter count formula.
    func testInitialisationAndNames() throws {
        let field = try MLPVectorField(dimension: 8, hiddenWidths: [256, 256], seed: 1)
        let s = field.store
        XCTAssertEqual(s.parameters.map(\.name), ["field.layers.0.weight", "field.layers.0.bias", "field.layers.1.weight",
                                                  "field.layers.1.bias", "field.layers.2.weight", "field.layers.2.bias"])
        XCTAssertEqual(s.parameterCount, 8 * 256 + 256 + 256 * 256 + 256 + 256 * 8 + 8)
        for (l, w) in field.weights.enumerated() {
            let e = s.parameters[w.index]
            let (out, inn) = (e.shape[0], e.shape[1])
            let v = s.valueArray(w)
            // Gram matrix of the short side: rows (out ≤ in) or columns (out > in).
            let k = min(out, inn)
            var worst: Double = 0
            for a in 0..<k {
                for b in 0..<k {
                    var dot = 0.0
                    if out <= inn { for j in 0..<inn { dot += Double(v[a * inn + j]) * Double(v[b * inn + j]) } }
                    else { for i in 0..<out { dot += Double(v[i * inn + a]) * Double(v[i * inn + b]) } }
                    worst = max(worst, abs(dot - (a == b ? 1 : 0)))
                }
            }
            // Float32 storage of a Float64-orthonormal matrix: each dot is off by ≲ √n·ε₃₂.
            XCTAssertLessThan(worst, 4 * Double(max(out, inn)).squareRoot() * Double(Float.ulpOfOne), "layer \(l)")
            XCTAssertTrue(s.valueArray(field.biases[l]).allSatisfy { $0 == 0 })
        }
        XCTAssertThrowsError(try MLPVectorField(dimension: 8, hiddenWidths: [], seed: 1))
    }

    /// The field against a float64 evaluation of the same weights. Error estimate: each output sums
    /// ~w products of O(1) terms in float32, error ≲ w·ε₃₂·Σ|terms|; bounded with the actual Σ|terms|.
    func testEvaluationMatchesFloat64() throws {
        let field = try MLPVectorField(dimension: 4, hiddenWidths: [32, 24], seed: 5)
        randomizeBiases(field.store, seed: 9)
        let x = ODETestData.normals(7 * 4, seed: 2)
        let y = field.evaluate(x)
        let (ref, magnitude) = float64Field(field, x)
        for i in 0..<y.count {
            XCTAssertEqual(Double(y[i]), ref[i], accuracy: 64 * Double(Float.ulpOfOne) * magnitude[i], "output \(i)")
        }
    }

    func testPullbackMatchesFiniteDifferences() throws {
        let field = try MLPVectorField(dimension: 4, hiddenWidths: [16, 12], seed: 8)
        randomizeBiases(field.store, seed: 4)
        var x = ODETestData.normals(5 * 4, seed: 3)
        let v = ODETestData.normals(5 * 4, seed: 6)
        let (_, dx, dp) = field.vjp(x, cotangent: v)
        let pairing = { (x: [Float]) -> Double in zip(field.evaluate(x), v).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        let store = field.store
        ODEFiniteDifference.assertPasses(ODEFiniteDifference.check(values: store.values, count: store.parameterCount,
                                                                  analytic: dp, probes: 40, loss: { pairing(x) }), "MLP ∂θ")
        let rx = x.withUnsafeMutableBufferPointer { p in
            ODEFiniteDifference.check(values: p.baseAddress!, count: p.count, analytic: dx, loss: { pairing(Array(p)) })
        }
        ODEFiniteDifference.assertPasses(rx, "MLP ∂x")
        _ = x
    }
}

/// Small random biases, so bias gradients and the tanh derivative away from 0 are exercised.
func randomizeBiases(_ store: ParameterStore, seed: UInt64) {
    var rng = RNG(seed: seed)
    for e in store.parameters where e.name.hasSuffix("bias") {
        for i in 0..<e.count { store.values[e.offset + i] = 0.2 * Float(rng.normal()) }
    }
}

/// The MLP field in float64 from the same float32 weights, and per output Σ|terms| of its last sum.
func float64Field(_ field: MLPVectorField, _ x: [Float]) -> ([Double], [Double]) {
    let d = field.dimension, rows = x.count / d
    let s = field.store
    var out: [Double] = [], mags: [Double] = []
    for r in 0..<rows {
        var a = (0..<d).map { Double(x[r * d + $0]) }
        var mag: [Double] = []
        for (l, w) in field.weights.enumerated() {
            let e = s.parameters[w.index]
            let (o, inn) = (e.shape[0], e.shape[1])
            let wv = s.value(w), bv = s.value(field.biases[l])
            var next = [Double](repeating: 0, count: o)
            mag = [Double](repeating: 0, count: o)
            for i in 0..<o {
                var acc = Double(bv[i]), m = abs(Double(bv[i]))
                for j in 0..<inn { acc += Double(wv[i * inn + j]) * a[j]; m += abs(Double(wv[i * inn + j]) * a[j]) }
                next[i] = l == field.weights.count - 1 ? acc : Foundation.tanh(acc)
                mag[i] = m
            }
            a = next
        }
        out += a
        mags += mag.map { max($0, 1) }
    }
    return (out, mags)
}
