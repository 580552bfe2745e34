import Core
import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi run --preset circle`, reduced to a few minutes (8,000 autoencoder iterations instead of
/// 20,000, 3,000 field iterations), on two ranks: the circle result's direction.
///
/// Training the circle model is bimodal in the initialisation, in PyTorch as here
/// (tools/circle_reference.py follows our trajectory step for step from the same weights): some draws
/// reach a latent circle traversed at even speed (jump ratio ≈ 1.4–1.7), others a pinched curve
/// (5–8); of seeds 0–8, 3, 4 and 8 reach the first. So, as the reference keeps its lowest-loss model,
/// each model is trained from seeds 0–3 and the lowest training MSE is kept; then each kept model's
/// latent MLP field is rolled out over the test frames and decoded.
final class CirclePipelineTests: XCTestCase {
    func testTheContinuityPenaltyRemovesTheJumpsAndPredictsLonger() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-circle-\(getpid())-\(UUID().uuidString.prefix(6))").path
        let config = base + ".json"
        try #"{"models": ["cpae", "ae"], "circle": {"iterations": 8000, "latent-iterations": 3000, "restarts": 4}}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: base); try? FileManager.default.removeItem(atPath: config) }
        let r = try MPILauncher.runUnderMPI(ranks: 2, ["run", "--preset", "circle", "--config", config, "--out", base], timeout: 900)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        let file = try FileReader(path: base + "/summary.json")
        let summary = try JSONCoding.decode(CircleReport.Summary.self, from: file.read(count: file.size, at: 0), file: "summary.json")
        XCTAssertEqual(summary.models.map(\.name), ["cpae", "ae"])
        XCTAssertEqual(summary.ranks, 2)
        let cpae = summary.models[0], ae = summary.models[1]
        let table = summary.models.map { m in
            "\(m.title) (kept seed \(m.seed)): jump ratio \(m.jumpRatio), test MSE \(m.testMSE), VPT(0.01) \(m.vpt["0.01"] ?? -1)%, roughness \(m.roughness); restarts "
                + m.restarts.map { "\($0.seed): \(String(format: "%.2f", $0.jumpRatio)), \(String(format: "%.2e", $0.trainMSE))" }.joined(separator: "; ")
        }.joined(separator: "\n")
        for m in summary.models {
            // The restarts were shared out over both ranks and come back in seed order; the kept one is the lowest training MSE.
            XCTAssertEqual(m.restarts.map(\.seed), [0, 1, 2, 3], table)
            XCTAssertEqual(m.trainMSE, m.restarts.map(\.trainMSE).min(), table)
        }
        XCTAssertLessThanOrEqual(cpae.jumpRatio, 2, "with the penalty the test latents move continuously\n" + table)
        XCTAssertGreaterThanOrEqual(ae.jumpRatio, 10, "without it they jump\n" + table)
        XCTAssertGreaterThan(cpae.vpt["0.01"] ?? -1, ae.vpt["0.01"] ?? -1, "continuous latents are predicted longer\n" + table)
        XCTAssertLessThan(cpae.roughness, ae.roughness / 3, table)
        // Both reconstruct (a blank output has MSE ≈ 0.03 on these frames).
        XCTAssertLessThan(cpae.testMSE, 4e-3, table)
        XCTAssertLessThan(ae.testMSE, 8e-3, table)

        // The field fits the regularized latents' steps far better than the zero field (z_{t+1} = z_t),
        // whose loss (MSE/h², h = 0.1) is the scale of a fit that learned nothing.
        let z = try NPY.read(base + "/cpae/test_latents.npy")
        let d = z.shape[1], values = try XCTUnwrap(z.floats).map(Double.init)
        var squaredSteps = 0.0
        for t in 1..<z.shape[0] { for i in 0..<d { squaredSteps += pow(values[t * d + i] - values[(t - 1) * d + i], 2) } }
        let zeroField = squaredSteps / (Double((z.shape[0] - 1) * d) * 0.01)
        XCTAssertLessThan(cpae.latentLoss ?? .infinity, 0.05 * zeroField, "zero-field loss \(zeroField)\n" + table)

        for name in ["report.md", "config.json", "pipeline.json", "circle_latents.png", "circle_frames.png", "frame_mse.png", "ae/restarts.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: base + "/" + name), "missing \(name)")
        }
        let report = try String(contentsOfFile: base + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("| CpAE | continuity ×10 |") && report.contains("Every initialisation"), report)
    }
}
