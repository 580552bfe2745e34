import XCTest
@testable import Core

/// The `LatentDynamics` entry points the trainer and evaluator use.
final class ODELatentDynamicsTests: XCTestCase {
    /// A few Adam steps on the circle setting (2 → 64 → 2, h = 0.1, midpoint × 2) fitted to a true
    /// rotation by h per frame reduce the one-step loss.
    func testTrainingReducesTheLossOnTheCircle() throws {
        let field = try MLPVectorField(dimension: 2, hiddenWidths: [64], seed: 3)
        let model = try FieldDynamics(field: field, frameStep: 0.1)
        let angles = (0..<69).map { Double($0) * 0.1 }
        let starts = angles.flatMap { [Float(cos($0)), Float(sin($0))] }
        let targets = angles.flatMap { [Float(cos($0 + 0.1)), Float(sin($0 + 0.1))] }
        let adam = Adam(store: model.store)
        var losses: [Double] = []
        for _ in 0..<200 {
            model.store.zeroGradients()
            losses.append(model.lossAndGradient(starts: starts, targets: [targets]))
            adam.update(model.store, learningRate: 0.01)
        }
        XCTAssertLessThan(losses.last!, 0.1 * losses.first!, "loss \(losses.first!) → \(losses.last!)")
    }

    /// Fractional frame times: states at t and the fixed-step rollout agree on whole frames, half a
    /// frame lies between (converging to the half-frame solution), and the adaptive solver agrees
    /// with the fixed-step one to the fixed step's error (estimated from 1 vs 2 substeps).
    func testStatesAtFractionalTimes() throws {
        let field = try MLPVectorField(dimension: 4, hiddenWidths: [16, 16], seed: 4)
        let model = try FieldDynamics(field: field, frameStep: 0.05)
        let z = ODETestData.normals(3 * 4, seed: 1)
        let path = try model.rollout(start: z, frames: 4, direction: .forward)
        let at = try model.states(from: z, atFrameTimes: [1, 2.5, 4])
        for (a, b) in zip(at[0], path[1]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        for (a, b) in zip(at[2], path[4]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let half = try model.states(from: z, atFrameTimes: [2.5])[0]
        for (a, b) in zip(half, at[1]) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        let back = try model.rollout(start: path[4], frames: 4, direction: .backward)
        for (a, b) in zip(back[4], z) { XCTAssertEqual(a, b, accuracy: 1e-3) }

        let coarse = try FieldDynamics(field: field, frameStep: 0.05, method: .midpoint, substeps: 1)
        let coarseHalf = try coarse.states(from: z, atFrameTimes: [2.5])[0]
        model.rolloutSolver = .adaptive(try DormandPrince5(relativeTolerance: 1e-6, absoluteTolerance: 1e-7))
        let adaptive = try model.states(from: z, atFrameTimes: [2.5])[0]
        let fixedError = zip(coarseHalf, half).map { abs($0 - $1) }.max()!   // ≈ 3× the 2-substep error
        for (a, b) in zip(adaptive, half) { XCTAssertEqual(a, b, accuracy: fixedError + 1e-5) }
        XCTAssertEqual(try model.rollout(start: z, frames: 2, direction: .forward).count, 3)
    }

    func testErrorsNameTheValue() throws {
        let field = try MLPVectorField(dimension: 2, hiddenWidths: [4], seed: 1)
        XCTAssertThrowsError(try FieldDynamics(field: field, frameStep: 0)) { XCTAssertTrue("\($0)".contains("frameStep h = 0.0")) }
        XCTAssertThrowsError(try FixedStepIntegrator(field: field, substeps: 0)) { XCTAssertTrue("\($0)".contains("substeps = 0")) }
        let model = try FieldDynamics(field: field)
        XCTAssertThrowsError(try model.rollout(start: [1, 2, 3], frames: 1, direction: .forward)) { XCTAssertTrue("\($0)".contains("3 values")) }
        XCTAssertThrowsError(try HamiltonianField(dimension: 3, width: 4, seed: 1))
    }
}
