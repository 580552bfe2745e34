import XCTest
@testable import Core

/// The MLP field and the midpoint integrator against PyTorch (tools/make_ode_fixture.py: a float64
/// reference computed from the same float32 weights and inputs).
final class ODEFixtureTests: XCTestCase {
    func testMidpointStepLossAndGradientsMatchPyTorch() throws {
        let fx = try Fixture("ode_mlp_midpoint")
        let d = try fx.int("dimension"), w = try fx.int("width"), n = try fx.int("batch")
        let h = try fx.float("h"), substeps = try fx.int("substeps")
        let field = try MLPVectorField(dimension: d, hiddenWidths: [w, w], seed: 0)
        let store = field.store
        for e in store.parameters { try fx.load(e.name, into: store.values + e.offset, count: e.count) }
        let integrator = try FixedStepIntegrator(field: field, method: .midpoint, substeps: substeps)
        let x = try fx.values("x"), target = try fx.values("target")
        XCTAssertEqual(x.count, n * d)

        // One frame. Error estimate: y = x + τ·Σk with |x| ~ 1 dominates; each of the 2 substeps adds
        // ≲ 3ε₃₂·|y| of rounding, plus τ·(field error ~ 64ε₃₂·|f|): well inside 16ε₃₂·max(|y|, 1).
        let y = try integrator.rollout(start: x, frames: 1, frameStep: h)[1]
        let yRef = try fx.values("y")
        let yScale = max(yRef.map(abs).max()!, 1)
        assertClose(y, yRef, rtol: 0, atol: 16 * Float.ulpOfOne * yScale, "y")

        // Loss and gradients. The loss is a function of diff = y − target (~h/2·noise ≈ 5e-3); its
        // float32 rounding is that of y, |δdiff| ≲ 16ε₃₂·|y|, so the relative error of the loss and of
        // the gradients (∝ diff) is ≲ 2·16ε₃₂·|y|max / rms(diff).
        store.zeroGradients()
        var dx = [Float](repeating: 0, count: x.count)
        let loss = x.withUnsafeBufferPointer { xp in target.withUnsafeBufferPointer { tp in dx.withUnsafeMutableBufferPointer { dp in
            integrator.lossAndGradient(starts: xp.baseAddress!, targets: [tp.baseAddress!], rows: n, frameStep: h, startGradient: dp.baseAddress!)
        } } }
        let lossRef = Double(try fx.values("loss")[0])
        let diffRMS = (lossRef.squareRoot() * Double(h))
        let rel = Float(2 * 16 * Double(Float.ulpOfOne) * Double(yScale) / diffRMS)
        XCTAssertEqual(loss, lossRef, accuracy: Double(rel) * lossRef, "loss")
        for e in store.parameters {
            let ref = try fx.values("grad." + e.name)
            let got = Array(UnsafeBufferPointer(start: store.gradients + e.offset, count: e.count))
            assertClose(got, ref, rtol: 0, atol: rel * ref.map(abs).max()!, "grad \(e.name)")
        }
        let dxRef = try fx.values("dx")
        assertClose(dx, dxRef, rtol: 0, atol: rel * dxRef.map(abs).max()!, "dx")
    }
}
