import XCTest
@testable import Core

final class ODEIntegratorTests: XCTestCase {
    /// Global error at T = 4 on the damped rotation against the exact solution, halving τ: the
    /// observed order log₂(e(τ)/e(τ/2)) approaches the method's order (2 and 4). The step sizes keep
    /// the errors (≥ 1e-5) far above float32 rounding (~1e-7·steps), and the asymptotic constant's
    /// next term is O(τ) relative, so ±0.25 around the order is the expected spread at these τ.
    func testConvergenceOrdersOnALinearODE() throws {
        let field = LinearTestField.dampedRotation
        let x0: [Float] = [1, 0, 0.3, -0.7]
        for (method, taus) in [(FixedStepMethod.midpoint, [0.05, 0.025, 0.0125]), (.rk4, [0.4, 0.2, 0.1])] {
            let integrator = try FixedStepIntegrator(field: field, method: method, substeps: 1)
            let exact = LinearTestField.exactDampedRotation(x0, time: 4)
            var errors: [Double] = []
            for tau in taus {
                var x = x0
                x.withUnsafeMutableBufferPointer { integrator.integrate($0.baseAddress!, rows: 2, step: Float(tau), steps: Int((4 / tau).rounded())) }
                errors.append(zip(x, exact).map { abs(Double($0) - $1) }.max()!)
            }
            for i in 1..<errors.count {
                let order = log2(errors[i - 1] / errors[i])
                XCTAssertEqual(order, Double(method.order), accuracy: 0.25, "\(method): errors \(errors)")
            }
        }
    }

    /// Negative h integrates backwards: from the exact state at t = 2, 200 frames of −h land on
    /// the start within the method's error at this step (estimated by the same run at 2× the step:
    /// e(τ) ≈ e(2τ)/2^order, bounded by e(2τ)).
    func testNegativeStepIntegratesBackwards() throws {
        let field = LinearTestField.dampedRotation
        let x0: [Float] = [0.5, -1]
        let atTwo = LinearTestField.exactDampedRotation(x0, time: 2).map(Float.init)
        for method in FixedStepMethod.allCases {
            let fine = try FixedStepIntegrator(field: field, method: method, substeps: 2)
            let coarse = try FixedStepIntegrator(field: field, method: method, substeps: 1)
            let back = try fine.rollout(start: atTwo, frames: 200, frameStep: -0.01).last!
            let backCoarse = try coarse.rollout(start: atTwo, frames: 200, frameStep: -0.01).last!
            let coarseError = zip(backCoarse, x0).map { abs($0 - $1) }.max()!
            let error = zip(back, x0).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(error, coarseError + 400 * Float.ulpOfOne, "\(method)")
            XCTAssertLessThan(error, 1e-3, "\(method): backward rollout did not return to the start")
        }
    }

    /// Backpropagation through every stage, into the parameters and the starts, for both methods,
    /// one-step and 3-step rollout losses, against finite differences.
    func testBackpropagationMatchesFiniteDifferences() throws {
        for method in FixedStepMethod.allCases {
            for k in [1, 3] {
                let field = try MLPVectorField(dimension: 4, hiddenWidths: [12, 12], seed: 21)
                randomizeBiases(field.store, seed: 22)
                let integrator = try FixedStepIntegrator(field: field, method: method, substeps: 2)
                integrator.chunkRows = 4   // several chunks: the chunking must not change the sums
                var (starts, _) = ODETestData.pairs(rows: 7, dimension: 4, seed: 23)
                let targets = (0..<k).map { j in ODETestData.pairs(rows: 7, dimension: 4, seed: 30 + UInt64(j)).1 }
                let store = field.store
                store.zeroGradients()
                var dStart = [Float](repeating: 0, count: starts.count)
                withPointers(targets) { tp in
                    starts.withUnsafeBufferPointer { sp in
                        dStart.withUnsafeMutableBufferPointer { dp in
                            _ = integrator.lossAndGradient(starts: sp.baseAddress!, targets: tp, rows: 7, frameStep: 0.1, startGradient: dp.baseAddress!)
                        }
                    }
                }
                let g = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
                let loss = { (s: [Float]) -> Double in
                    let saved = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
                    defer { store.gradients.update(from: saved, count: saved.count) }
                    return integrator.lossAndGradient(starts: s, targets: targets, frameStep: 0.1)
                }
                ODEFiniteDifference.assertPasses(ODEFiniteDifference.check(values: store.values, count: store.parameterCount, analytic: g,
                                                                          probes: 30, loss: { loss(starts) }), "\(method) k=\(k) ∂θ")
                let r = starts.withUnsafeMutableBufferPointer { p in
                    ODEFiniteDifference.check(values: p.baseAddress!, count: p.count, analytic: dStart, loss: { loss(Array(p)) })
                }
                ODEFiniteDifference.assertPasses(r, "\(method) k=\(k) ∂z_t")
            }
        }
    }

    /// Two worker threads give the same loss and gradient as one, to float32 summation-order
    /// rounding (each gradient entry is a sum of per-chunk partials: ≲ chunks·ε₃₂·Σ|partials|,
    /// bounded here by the entry's sum of absolute per-chunk contributions taken from a serial run).
    func testThreadsAgreeWithSerial() throws {
        let field = try MLPVectorField(dimension: 4, hiddenWidths: [16, 16], seed: 2)
        let (s, t) = ODETestData.pairs(rows: 100, dimension: 4, seed: 5)
        let integrator = try FixedStepIntegrator(field: field, method: .midpoint, substeps: 2)
        integrator.chunkRows = 16
        let store = field.store
        store.zeroGradients()
        let l1 = integrator.lossAndGradient(starts: s, targets: [t], frameStep: 0.01)
        let g1 = Array(UnsafeBufferPointer(start: store.gradients, count: store.parameterCount))
        // Σ over chunks of |chunk gradient|: each chunk alone.
        var absSum = [Double](repeating: 0, count: store.parameterCount)
        for c in stride(from: 0, to: 100, by: 16) {
            store.zeroGradients()
            let rows = min(16, 100 - c)
            let cs = Array(s[(c * 4)..<((c + rows) * 4)]), ct = Array(t[(c * 4)..<((c + rows) * 4)])
            integrator.lossAndGradient(starts: cs, targets: [ct], frameStep: 0.01)
            for i in 0..<store.parameterCount { absSum[i] += abs(Double(store.gradients[i])) * Double(rows) / 100 }
        }
        integrator.budget = ComputeBudget(threads: 2)
        store.zeroGradients()
        let l2 = integrator.lossAndGradient(starts: s, targets: [t], frameStep: 0.01)
        XCTAssertEqual(l1, l2, accuracy: 1e-12 * abs(l1))   // per-chunk SSE sums in Double
        for i in 0..<store.parameterCount {
            XCTAssertEqual(Double(store.gradients[i]), Double(g1[i]), accuracy: 8 * 7 * Double(Float.ulpOfOne) * absSum[i] + 1e-30, "gradient \(i)")
        }
    }
}
