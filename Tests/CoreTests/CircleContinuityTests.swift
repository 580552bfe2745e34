import XCTest
@testable import Core
import Foundation

/// The circular-motion ablation (docs/method.md §Training) at a size that runs in about a minute and a half.
///
/// Training this model is bimodal in the initialisation, in PyTorch as here (tools/circle_reference.py,
/// which follows our trajectory step for step from the same weights): some draws reach a latent circle
/// traversed at even speed (jump ratio ≈ 1.4–1.7, test MSE ≈ 1.6e-3), others a pinched curve (5–8,
/// MSE ≈ 4e-3); seeds 0–8 here: 3, 4 and 8 reach the first. So, as the reference keeps the model with
/// the lowest training loss, the test trains seeds 0–3 with the continuity penalty (the `circle` preset,
/// J × 10), keeps the lowest training MSE, and compares it with the unregularized model from the same seed.
/// Both then go through phase 2 (encode → the latent MLP field trained by `ODETrainer` → rollout of the
/// test latents decoded and scored): the continuous latents must predict the test frames longer.
final class CircleContinuityTests: XCTestCase {
    private func run(_ penalty: WeightPenalty, seed: UInt64) throws -> CircleExperiment.Result {
        var e = CircleExperiment()
        e.penalty = penalty
        e.iterations = 8000
        e.seed = seed
        e.latentIterations = 3000
        return try e.run()
    }

    func testContinuityPenaltyRemovesLatentJumps() throws {
        BLASThreads.set(1)
        let restarts = try (0...3).map { try run(.continuity, seed: $0) }
        let best = restarts.min { $0.train_mse < $1.train_mse }!
        let plain = try run(.none, seed: best.seed)
        let vpt = { (r: CircleExperiment.Result) in r.vpt?[ValidPredictionTime.key(0.01)] ?? -1 }
        let summary = "J×10 restarts (seed: jump ratio, train MSE, VPT(0.01)): "
            + restarts.map { "\($0.seed): \(String(format: "%.2f", $0.jump_ratio_test)), \(String(format: "%.2e", $0.train_mse)), \(vpt($0))%" }.joined(separator: "; ")
            + " — no penalty, seed \(plain.seed): jump ratio \(plain.jump_ratio_test), test MSE \(plain.test_mse), VPT(0.01) \(vpt(plain))%"
        XCTAssertLessThanOrEqual(best.jump_ratio_test, 2, "with the penalty the test latents move continuously\n" + summary)
        XCTAssertGreaterThanOrEqual(plain.jump_ratio_test, 10, "without it they jump\n" + summary)
        XCTAssertGreaterThan(vpt(best), vpt(plain), "continuous latents are predicted longer by the latent ODE\n" + summary)
        // The loss of the zero field (z_{t+1} predicted as z_t) is the scale a fit must beat by far.
        let z = best.test_latents, d = Double(z[0].count)
        var squaredSteps = 0.0
        for t in 1..<z.count {
            for i in 0..<z[t].count { squaredSteps += (z[t][i] - z[t - 1][i]) * (z[t][i] - z[t - 1][i]) }
        }
        let zeroField = squaredSteps / (Double(z.count - 1) * d * 0.01)
        XCTAssertLessThan(best.latent_loss ?? .infinity, 0.05 * zeroField,
                          "the field fits the regularized latents' steps (zero-field loss \(zeroField))\n" + summary)
        XCTAssertLessThan(best.roughness_test, plain.roughness_test / 3, summary)
        // Both reconstruct (a blank output has MSE ≈ 0.03 on these frames).
        XCTAssertLessThan(best.test_mse, 4e-3, summary)
        XCTAssertLessThan(plain.test_mse, 8e-3, summary)
    }
}
