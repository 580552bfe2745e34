import XCTest
@testable import Core

final class ODEHamiltonianTests: XCTestCase {
    private func makeField() throws -> HamiltonianField {
        let f = try HamiltonianField(dimension: 4, width: 16, seed: 41)
        randomizeBiases(f.store, seed: 42)
        return f
    }

    /// f = (∂H/∂p, −∂H/∂q) with z = (q, p): the field against finite differences of H itself.
    func testFieldIsTheSymplecticGradientOfH() throws {
        let field = try makeField()
        var z = ODETestData.normals(4, seed: 1)
        let f = field.evaluate(z)
        // ∇H = (−f_p, f_q).
        let grad = [-f[2], -f[3], f[0], f[1]]
        let r = z.withUnsafeMutableBufferPointer { p in
            ODEFiniteDifference.check(values: p.baseAddress!, count: 4, analytic: grad, loss: { Double(field.hamiltonian(Array(p))[0]) })
        }
        ODEFiniteDifference.assertPasses(r, "∇H")
    }

    /// div f = tr(∂f/∂z) = 0. The Jacobian is taken exactly (to rounding) from the pullback with unit
    /// cotangents; its diagonal terms ±∂²H/∂q_i∂p_i cancel pairwise, so the sum is rounding only:
    /// bounded by 64·ε₃₂ times the sum of |diagonal entries|.
    func testDivergenceFree() throws {
        let field = try makeField()
        let z = ODETestData.normals(4, seed: 2)
        var trace = 0.0, scale = 0.0
        for i in 0..<4 {
            var e = [Float](repeating: 0, count: 4); e[i] = 1
            let (_, dz, _) = field.vjp(z, cotangent: e)     // row i of the Jacobian: ∂f_i/∂z
            trace += Double(dz[i]); scale += abs(Double(dz[i]))
        }
        XCTAssertGreaterThan(scale, 1e-3, "the test needs a non-trivial Jacobian")
        XCTAssertLessThanOrEqual(abs(trace), 64 * Double(Float.ulpOfOne) * scale)
    }

    /// The second-order parameter gradient (θ through ∇H) and the input gradient of v̄·f.
    func testSecondOrderGradientsMatchFiniteDifferences() throws {
        let field = try makeField()
        var z = ODETestData.normals(6 * 4, seed: 3)
        let v = ODETestData.normals(6 * 4, seed: 4)
        let (_, dz, dp) = field.vjp(z, cotangent: v)
        let pairing = { (z: [Float]) -> Double in zip(field.evaluate(z), v).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
        let s = field.store
        ODEFiniteDifference.assertPasses(ODEFiniteDifference.check(values: s.values, count: s.parameterCount, analytic: dp,
                                                                  probes: 60, loss: { pairing(z) }), "HNN ∂θ")
        // Every parameter tensor gets a gradient (the output weight w₃ included).
        for e in s.parameters { XCTAssertTrue(dp[e.offset..<(e.offset + e.count)].contains { $0 != 0 }, e.name) }
        let r = z.withUnsafeMutableBufferPointer { p in
            ODEFiniteDifference.check(values: p.baseAddress!, count: p.count, analytic: dz, loss: { pairing(Array(p)) })
        }
        ODEFiniteDifference.assertPasses(r, "HNN ∂z")
        let wrong = ODEFiniteDifference.check(values: s.values, count: s.parameterCount, analytic: dp.map { -$0 }, probes: 60, loss: { pairing(z) })
        XCTAssertFalse(wrong.passed, "a sign-flipped HNN gradient must fail")
    }

    /// Training through the integrator (RK4) with the HNN: the loss gradient against finite differences.
    func testTrainingGradientThroughTheIntegrator() throws {
        let field = try makeField()
        let model = try FieldDynamics(field: field, frameStep: 0.1, method: .rk4, substeps: 2)
        let (s, t) = ODETestData.pairs(rows: 5, dimension: 4, seed: 8)
        let store = model.store
        store.zeroGradients()
        model.lossAndGradient(starts: s, targets: [t])
        let g = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
        let r = ODEFiniteDifference.check(values: store.values, count: store.parameterCount, analytic: g, probes: 30) {
            let saved = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
            defer { store.gradients.update(from: saved, count: saved.count) }
            return model.lossAndGradient(starts: s, targets: [t])
        }
        ODEFiniteDifference.assertPasses(r, "HNN + RK4 loss")
    }
}
