import Core
import Foundation
import TestLauncher
import XCTest

/// Phase 2's other latent models through the commands: `train-ode --model hnn|sympnet` on 1 and 2
/// ranks (the files, a falling loss, the same training at either rank count) and `evaluate`, which
/// scores interpolation for the Hamiltonian field and says why there is none for the discrete map.
final class TrainODEModelsTests: XCTestCase {
    /// The files train-ode writes into RUN/ode/<model>/.
    private static let runFiles = ["config.json", "metrics.jsonl", "checkpoint.safetensors", "selected.safetensors", "selection.json"]

    /// A rate at which 20 steps of either model learn on these latents: the reference's exponential
    /// decay, a tenth of its size. (The reference's 0.01 suits the fields; it throws the near-identity
    /// SympNet far off in one step: its loss goes from 0.08 to 27 and is still above 0.08 after 20.)
    private static let learningSchedule = ["--lr-schedule", "exp:1e-3:1e-4:20"]

    private func train(_ model: LatentModelConfig.Kind, ranks: Int, _ run: String, steps: Int = 20, lr: String?,
                       extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> [ODEMetricsRecord] {
        let r = try MPILauncher.runUnderMPI(ranks: ranks, LatentRunFixture.trainArguments(run, model: model, steps: steps, lr: lr, extra: extra),
                                            timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("training \(model.rawValue) on"), r.summary, file: file, line: line)
        if model == .sympnet {
            XCTAssertTrue(r.stderr.contains("1 thread per rank"), "the map's kernels are serial, whatever the budget: \(r.summary)", file: file, line: line)
        }
        for name in Self.runFiles {
            XCTAssertTrue(FileManager.default.fileExists(atPath: LatentRunFixture.directory(run, model) + "/" + name),
                          "\(model.rawValue) np \(ranks): \(name) written", file: file, line: line)
        }
        return try LatentRunFixture.metrics(run, model)
    }

    /// 1 and 2 ranks: every file, the model recorded in config.json and the checkpoint, one metrics
    /// line per step with validation every 5, a finite loss whose last training-batch and validation
    /// values are below the first, the selection at the best validation step; and at 1e-6 the same
    /// training on 2 ranks as on 1 (the mlp rank test's tolerance, `LatentRunFixture.rankTolerance`).
    private func checkTrainsOnOneAndTwoRanks(_ model: LatentModelConfig.Kind, file: StaticString = #filePath, line: UInt = #line) throws {
        for ranks in [1, 2] {
            let run = try LatentRunFixture.fresh("\(model.rawValue)-learn-np\(ranks)")
            let m = try train(model, ranks: ranks, run, lr: nil, extra: Self.learningSchedule, file: file, line: line)
            let what = "\(model.rawValue) np \(ranks)"
            XCTAssertEqual(m.map(\.step), Array(1...20), what, file: file, line: line)
            XCTAssertTrue(m.allSatisfy { $0.loss.isFinite && !$0.skipped }, "\(what): \(m.map(\.loss))", file: file, line: line)
            XCTAssertLessThan(m.last!.loss, m.first!.loss, "\(what): the training loss falls: \(m.map(\.loss))", file: file, line: line)
            let validation = m.compactMap { r in r.validationLoss.map { (step: r.step, loss: $0) } }
            XCTAssertEqual(validation.map(\.step), [5, 10, 15, 20], what, file: file, line: line)
            XCTAssertTrue(validation.allSatisfy { $0.loss.isFinite }, what, file: file, line: line)
            XCTAssertLessThan(validation.last!.loss, validation.first!.loss, "\(what): the validation loss falls: \(validation)", file: file, line: line)

            let config = try LatentRunFixture.configuration(run, model)
            XCTAssertEqual(config.model.kind, model, what, file: file, line: line)
            XCTAssertEqual(config.model.dimension, 2, what, file: file, line: line)
            XCTAssertEqual(config.ranks, ranks, what, file: file, line: line)
            XCTAssertEqual(config.trainer.steps, 20, what, file: file, line: line)
            XCTAssertEqual(config.trainer.globalBatch, 16, what, file: file, line: line)
            let selected = try SafeTensorsFile.read(LatentRunFixture.directory(run, model) + "/selected.safetensors")
            let stored = try JSONCoding.decode(LatentModelConfig.self, from: Array((selected.metadata["latent_model"] ?? "").utf8), file: "selected.safetensors")
            XCTAssertEqual(stored, config.model, "\(what): the selected model carries its configuration", file: file, line: line)
            let selection = try LatentRunFixture.selection(run, model)
            let best = validation.min { $0.loss < $1.loss }!
            XCTAssertEqual(selection.criterion, .validationLoss, what, file: file, line: line)
            XCTAssertEqual(selection.step, best.step, what, file: file, line: line)
        }

        // 20 steps at 1e-6 inside the first epoch (29 steps of 16 pairs): np 2 is np 1 to float rounding.
        let one = try LatentRunFixture.fresh("\(model.rawValue)-np1"), two = try LatentRunFixture.fresh("\(model.rawValue)-np2")
        let m1 = try train(model, ranks: 1, one, lr: "1e-6", file: file, line: line)
        let m2 = try train(model, ranks: 2, two, lr: "1e-6", file: file, line: line)
        let p1 = try LatentRunFixture.parameters(one, model)
        XCTAssertFalse(p1.isEmpty, file: file, line: line)
        // Not two idle runs: even at 1e-6 the loss moves far more than the tolerance.
        XCTAssertGreaterThan(abs(m1.last!.loss - m1.first!.loss) / m1.first!.loss, 10 * LatentRunFixture.rankTolerance,
                             "\(model.rawValue) at 1e-6: \(m1.map(\.loss))", file: file, line: line)
        LatentRunFixture.assertSameTraining(m1, p1, m2, try LatentRunFixture.parameters(two, model), "\(model.rawValue) np 2 against np 1",
                                            file: file, line: line)
    }

    func testHamiltonianFieldTrainsOnOneAndTwoRanks() throws {
        try checkTrainsOnOneAndTwoRanks(.hnn)
    }

    func testSympNetTrainsOnOneAndTwoRanks() throws {
        try checkTrainsOnOneAndTwoRanks(.sympnet)
    }

    /// The simulated pendulum has frames between the stored ones: the Hamiltonian field is scored
    /// there, while the SympNet, one map application per frame, has nothing to compare, and
    /// metrics.json, report.md and the reason say so. Both still get every other score.
    func testEvaluateScoresInterpolationForTheFieldAndNotForTheDiscreteMap() throws {
        let run = try LatentRunFixture.fresh("evaluate")
        var metrics: [LatentModelConfig.Kind: EvaluationMetrics] = [:]
        var reports: [LatentModelConfig.Kind: String] = [:]
        for model in [LatentModelConfig.Kind.hnn, .sympnet] {
            _ = try train(model, ranks: 1, run, steps: 5, lr: nil, extra: Self.learningSchedule)
            let out = run + "/eval-\(model.rawValue)"
            let r = try MPILauncher.runUnderMPI(ranks: 2, ["evaluate", "--run", run, "--model", model.rawValue, "--out", out], timeout: 120)
            XCTAssertEqual(r.exitCode, 0, r.summary)
            XCTAssertTrue(r.stdout.contains("cpae + \(model.rawValue) on 4 test trajectories"), r.summary)
            metrics[model] = try EvaluationMetrics.read(out + "/" + EvaluationMetrics.fileName)
            reports[model] = try String(contentsOfFile: out + "/" + EvaluationReport.fileName, encoding: .utf8)
            for figure in ["latents.png", "frames.png", "frame_mse.png", "vpt.png"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + figure), "\(model.rawValue): \(figure) written")
            }
        }
        let hnn = try XCTUnwrap(metrics[.hnn]), sympnet = try XCTUnwrap(metrics[.sympnet])
        for m in [hnn, sympnet] {
            XCTAssertEqual(m.trajectories, 4)
            XCTAssertEqual(Set(m.vpt.keys), ["0.0025", "0.005", "0.01"])
            XCTAssertNotNil(m.vptReverse, "\(m.model): the reverse rollout is scored (the SympNet by its inverse map)")
            XCTAssertTrue(m.reconMSE?.isFinite ?? false)
        }

        let score = try XCTUnwrap(hnn.interpolationMSE, "the Hamiltonian field is a vector field: it has states between frames")
        XCTAssertTrue(score.isFinite && score > 0)
        XCTAssertEqual(hnn.interpolationFractions, [0.25, 0.5, 0.75])
        XCTAssertNil(hnn.interpolationUnavailable)
        XCTAssertFalse(reports[.hnn]!.contains("interpolation not scored"), reports[.hnn]!)

        XCTAssertNil(sympnet.interpolationMSE)
        XCTAssertNil(sympnet.interpolationFractions)
        let reason = try XCTUnwrap(sympnet.interpolationUnavailable)
        XCTAssertTrue(reason.contains("sympnet") && reason.contains("discrete map") && reason.contains("no states between frames"), reason)
        let report = reports[.sympnet]!
        XCTAssertTrue(report.contains("| interpolation MSE | — |"), report)
        XCTAssertTrue(report.contains("cpae + sympnet: interpolation not scored — \(reason)"), report)
    }
}
