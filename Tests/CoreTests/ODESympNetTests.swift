import XCTest
@testable import Core

final class ODESympNetTests: XCTestCase {
    /// A map with non-trivial parameters (the default N(0, 0.01²) is nearly the identity).
    private func makeMap() throws -> SympNetMap {
        let m = try SympNetMap(dimension: 4, layers: 3, sublayers: 2, seed: 51)
        var rng = RNG(seed: 52)
        for i in 0..<m.store.parameterCount { m.store.values[i] = 0.4 * Float(rng.normal()) }
        return m
    }

    /// The Jacobian (rows from the backward pass with unit cotangents, exact to rounding) is
    /// symplectic, MᵀΩM = Ω, hence det M = 1. Rounding: each entry of MᵀΩM sums 2d products of
    /// Jacobian entries, bounded by 64·ε₃₂·Σ|products|; det by the same relative amount times d.
    func testJacobianIsSymplecticWithDeterminantOne() throws {
        let map = try makeMap()
        let d = 4, m = 2
        let z = ODETestData.normals(d, seed: 3)
        let (_, cache) = map.forwardWithCache(z)
        var jac = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        var scratch = [Float](repeating: 0, count: map.store.parameterCount)
        for i in 0..<d {
            var e = [Float](repeating: 0, count: d); e[i] = 1
            let row = scratch.withUnsafeMutableBufferPointer { map.backward(e, cache: cache, parameterGradients: $0.baseAddress!) }
            jac[i] = row.map(Double.init)    // jac[i][j] = ∂Φ_i/∂z_j
        }
        func omega(_ a: Int, _ b: Int) -> Double {   // Ω = [[0, I], [−I, 0]] for z = (q, p)
            if a < m && b == a + m { return 1 }
            if a >= m && b == a - m { return -1 }
            return 0
        }
        var worstRatio = 0.0
        for a in 0..<d {
            for b in 0..<d {
                var s = 0.0, mag = 0.0
                for i in 0..<d { for j in 0..<d where omega(i, j) != 0 {
                    let t = jac[i][a] * omega(i, j) * jac[j][b]; s += t; mag += abs(t)
                } }
                worstRatio = max(worstRatio, abs(s - omega(a, b)) / (64 * Double(Float.ulpOfOne) * max(mag, 1)))
            }
        }
        XCTAssertLessThanOrEqual(worstRatio, 1, "MᵀΩM ≠ Ω beyond rounding")
        XCTAssertGreaterThan(jac.flatMap { $0 }.map(abs).max()!, 1.2, "the test needs a map far from the identity")
        let det = determinant(jac)
        let norm = jac.map { $0.map(abs).reduce(0, +) }.reduce(1, *)   // Hadamard-type scale of det's terms
        XCTAssertEqual(det, 1, accuracy: 64 * Double(d) * Double(Float.ulpOfOne) * max(norm, 1))
    }

    /// inverse ∘ map = identity and map ∘ inverse = identity, to rounding accumulated over the 2×(13)
    /// shears: each adds ≲ 2ε₃₂ relative to the magnitudes seen (bounded by 64·ε₃₂·max|intermediate|).
    func testInverseUndoesTheMap() throws {
        let map = try makeMap()
        let z = ODETestData.normals(10 * 4, seed: 4)
        let y = map.forward(z)
        let back = map.inverse(y)
        let scale = Double(max(z.map(abs).max()!, y.map(abs).max()!))
        for (a, b) in zip(back, z) { XCTAssertEqual(Double(a), Double(b), accuracy: 64 * Double(Float.ulpOfOne) * scale * 4) }
        let forwardAgain = map.forward(map.inverse(z))
        for (a, b) in zip(forwardAgain, z) { XCTAssertEqual(Double(a), Double(b), accuracy: 64 * Double(Float.ulpOfOne) * scale * 4) }
        XCTAssertGreaterThan(zip(y, z).map { abs($0 - $1) }.max()!, 0.1)
    }

    /// The k-step loss gradient (parameters and starts) through repeated maps, and a wrong sign failing.
    func testLossGradientMatchesFiniteDifferences() throws {
        let map = try makeMap()
        for i in 0..<map.store.parameterCount { map.store.values[i] *= 0.5 }
        let model = try SympNetDynamics(map: map, frameStep: 0.1)
        var (s, _) = ODETestData.pairs(rows: 6, dimension: 4, seed: 5)
        let targets = [ODETestData.pairs(rows: 6, dimension: 4, seed: 6).1, ODETestData.pairs(rows: 6, dimension: 4, seed: 7).1]
        let store = model.store
        store.zeroGradients()
        var ds = [Float](repeating: 0, count: s.count)
        withPointers(targets) { tp in s.withUnsafeBufferPointer { sp in ds.withUnsafeMutableBufferPointer { dp in
            _ = model.lossAndGradient(starts: sp.baseAddress!, targets: tp, rows: 6, startGradient: dp.baseAddress!)
        } } }
        let g = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
        let loss = { (x: [Float]) -> Double in
            let saved = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
            defer { store.gradients.update(from: saved, count: saved.count) }
            return model.lossAndGradient(starts: x, targets: targets)
        }
        ODEFiniteDifference.assertPasses(ODEFiniteDifference.check(values: store.values, count: store.parameterCount, analytic: g,
                                                                  probes: 40, loss: { loss(s) }), "SympNet ∂θ")
        let r = s.withUnsafeMutableBufferPointer { p in
            ODEFiniteDifference.check(values: p.baseAddress!, count: p.count, analytic: ds, loss: { loss(Array(p)) })
        }
        ODEFiniteDifference.assertPasses(r, "SympNet ∂z")
        XCTAssertFalse(ODEFiniteDifference.check(values: store.values, count: store.parameterCount, analytic: g.map { -$0 },
                                                 probes: 40, loss: { loss(s) }).passed)
    }

    func testRolloutsAndTimes() throws {
        let model = try SympNetDynamics(map: try makeMap(), frameStep: 0.01)
        let z = ODETestData.normals(3 * 4, seed: 9)
        let fwd = try model.rollout(start: z, frames: 3, direction: .forward)
        XCTAssertEqual(fwd.count, 4)
        let back = try model.rollout(start: fwd[3], frames: 3, direction: .backward)
        for (a, b) in zip(back[3], z) { XCTAssertEqual(a, b, accuracy: 1e-3) }
        let at = try model.states(from: z, atFrameTimes: [2, 0, -1])
        XCTAssertEqual(at[0], fwd[2])
        XCTAssertEqual(at[1].count, z.count)
        XCTAssertThrowsError(try model.states(from: z, atFrameTimes: [0.5])) { XCTAssertTrue("\($0)".contains("whole frame")) }
        XCTAssertThrowsError(try SympNetMap(dimension: 3, seed: 1))
    }
}

/// Determinant by Gaussian elimination with partial pivoting (float64).
func determinant(_ m: [[Double]]) -> Double {
    var a = m
    let n = a.count
    var det = 1.0
    for c in 0..<n {
        let p = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
        if a[p][c] == 0 { return 0 }
        if p != c { a.swapAt(p, c); det = -det }
        det *= a[c][c]
        for r in (c + 1)..<n {
            let f = a[r][c] / a[c][c]
            for k in c..<n { a[r][k] -= f * a[c][k] }
        }
    }
    return det
}
