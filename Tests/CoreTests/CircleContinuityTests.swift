import XCTest
@testable import Core

/// The circular-motion ablation (cpae-method.md §9.A) at a size that runs in about a minute: the
/// continuity penalty makes the latents of unseen frames move continuously; without it they jump.
final class CircleContinuityTests: XCTestCase {
    private func run(_ penalty: WeightPenalty, weight: Float = 10) throws -> CircleExperiment.Result {
        var e = CircleExperiment()
        e.penalty = penalty
        e.penaltyWeight = weight
        e.iterations = 8000
        e.seed = 0
        return try e.run()
    }

    func testContinuityPenaltyRemovesLatentJumps() throws {
        BLASThreads.set(1)
        let plain = try run(.none)
        let reference = try run(.continuity)            // the reference's scale: J × 10
        let strong = try run(.continuity, weight: 40)   // J × 40
        let summary = "jump ratio (test): none \(plain.jump_ratio_test), J×10 \(reference.jump_ratio_test), J×40 \(strong.jump_ratio_test); "
            + "test MSE \(plain.test_mse), \(reference.test_mse), \(strong.test_mse)"
        // Measured (seed 0, 8k iterations): none ≈ 24, J×10 ≈ 6.5, J×40 ≈ 1.8.
        XCTAssertGreaterThan(plain.jump_ratio_test, 10, "the unregularized latents jump\n" + summary)
        XCTAssertLessThan(reference.jump_ratio_test * 3, plain.jump_ratio_test, "J×10 must cut the jumps several times\n" + summary)
        XCTAssertLessThan(strong.jump_ratio_test, 2, "with a strong enough penalty the latents move continuously\n" + summary)
        XCTAssertLessThan(strong.roughness_test, plain.roughness_test / 3, summary)
        // All three still reconstruct (a blank output has MSE ≈ 0.02 on these frames).
        for r in [plain, reference, strong] { XCTAssertLessThan(r.test_mse, 8e-3, summary) }
    }
}
