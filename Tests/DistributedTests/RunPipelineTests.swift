import Core
import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi run`: every stage on two ranks, the top-level report, a run interrupted mid-stage that
/// goes on where it stopped, and configurations refused before any work.
final class RunPipelineTests: XCTestCase {
    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-run-\(name)-\(getpid())-\(UUID().uuidString.prefix(6))").path
    }

    private func write(_ json: String, _ name: String) throws -> String {
        let path = temporary(name) + ".json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A few seconds per stage: 24 short trajectories, 6 autoencoder steps, 10 ODE steps.
    private let tiny = """
        {"data": {"trajectories": 24, "frames": 16},
         "train": {"epochs": null, "steps": 6, "global-batch": 16, "checkpoint-every": 2, "progress-seconds": 1000},
         "ode": {"steps": 10, "widths": [16, 16], "evaluate-every": 5, "progress-seconds": 1000},
         "evaluate": {"trajectories": 2}}
        """

    private func completed(_ run: String) -> [String] {
        (try? PipelineState.read(directory: run).completed) ?? []
    }

    func testTwoRanksRunEveryStageAndAnInterruptedRunGoesOnWhereItStopped() throws {
        let config = try write(tiny, "tiny")
        let run = temporary("pipeline")
        // Interrupt (SIGKILL to mpirun and both ranks) inside the second model's phase 1, once it
        // has a checkpoint: the first model's stages are done, the rest is not.
        let first = try MPILauncher.runUnderMPI(ranks: 2, ["run", "--config", config, "--out", run], timeout: 300,
                                                killWhen: { FileManager.default.fileExists(atPath: run + "/ae/checkpoint.safetensors") })
        XCTAssertTrue(first.timedOut, "the run should have been interrupted in train-ae ae\n" + first.summary)
        let done = completed(run)
        XCTAssertEqual(Array(done.prefix(5)), ["data", "train-ae cpae", "encode cpae", "train-ode cpae", "evaluate cpae"], first.summary)
        XCTAssertFalse(done.contains("report"))
        let cpaeMetrics = try Data(contentsOf: URL(fileURLWithPath: run + "/cpae/metrics.jsonl"))

        let second = try MPILauncher.runUnderMPI(ranks: 2, ["run", "--config", config, "--out", run], timeout: 300)
        XCTAssertEqual(second.exitCode, 0, second.summary)
        XCTAssertFalse(second.stderr.contains("stage 2/10"), "finished stages must be skipped\n" + second.summary)
        if !done.contains("train-ae ae") {
            XCTAssertTrue(second.stderr.contains("stage 6/10 train-ae ae"), second.summary)
            XCTAssertTrue(second.stderr.contains("resuming at step") || second.stderr.contains("nothing to train"),
                          "train-ae ae must continue from its checkpoint\n" + second.summary)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: run + "/cpae/metrics.jsonl")), cpaeMetrics,
                       "the finished model must not be trained again")
        XCTAssertEqual(completed(run), PipelineStage.plan(try Configuration.read(file: run + "/config.json")).map(\.name))

        for file in ["config.json", "pipeline.json", "report.md", "summary.json", "vpt.png", "frame_mse.png",
                     "cpae/ode/mlp/evaluation/metrics.json", "ae/ode/mlp/evaluation/latents.png", "ae/latents/latents.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + file), "missing \(file)")
        }
        let reader = try FileReader(path: run + "/summary.json")
        let summary = try JSONCoding.decode(PipelineReport.Summary.self, from: reader.read(count: reader.size, at: 0), file: "summary.json")
        XCTAssertEqual(summary.models.map(\.name), ["cpae", "ae"])
        XCTAssertEqual(summary.ranks, 2)
        for m in summary.models {
            XCTAssertTrue(m.jumpRatioMedian.isFinite && m.jumpRatioMedian >= 1, "\(m.name): jump ratio \(m.jumpRatioMedian)")
            XCTAssertEqual(Set(m.vpt.keys), ["0.0025", "0.005", "0.01"])
            XCTAssertTrue(m.vpt.values.allSatisfy { (0...100).contains($0) })
        }
        let report = try String(contentsOfFile: run + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("CpAE") && report.contains("AE") && report.contains("ε"), report)

        // A third run has nothing left to do; a different configuration in the same directory is refused.
        let third = try MPILauncher.runSingleton(["run", "--config", config, "--out", run], timeout: 60)
        XCTAssertEqual(third.exitCode, 0, third.summary)
        XCTAssertTrue(third.stderr.contains("(10 already done)"), third.summary)
        let other = try write(tiny.replacingOccurrences(of: "\"steps\": 6", with: "\"steps\": 7"), "other")
        let refused = try MPILauncher.runSingleton(["run", "--config", other, "--out", run], timeout: 60)
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        XCTAssertTrue(refused.stderr.contains("train.steps: 6 → 7"), refused.summary)
    }

    func testConfigurationMistakesAreNamedBeforeAnyWork() throws {
        for (json, expected) in [(#"{"train": {"stepz": 3}}"#, "train.stepz: unknown key"),
                                 (#"{"ode": {"substeps": 0, "steps": 0}}"#, "key ode.substeps: must be ≥ 1 (got 0)"),
                                 (#"{"ode": {"model": "lstm"}}"#, "expected one of mlp, hnn, sympnet"),
                                 (#"{"data": {"size": "big"}}"#, "data.size: expected an integer"),
                                 (#"{"models": ["cpae"], "models": ["ae"]}"#, "duplicate key \"models\"")] {
            let config = try write(json, "bad")
            let run = temporary("bad")
            let r = try MPILauncher.runSingleton(["run", "--config", config, "--out", run], timeout: 60)
            XCTAssertNotEqual(r.exitCode, 0, r.summary)
            XCTAssertTrue(r.stderr.contains(expected), "expected '\(expected)'\n" + r.summary)
            XCTAssertTrue(r.stderr.contains(config), "the message must name the file\n" + r.summary)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run), "nothing may be written for a bad configuration")
        }
    }
}

/// The `paper` preset at its real model size (3×128×256 pairs, K = 12, d = 8, the reference's ODE
/// width) through every stage, on a handful of trajectories and steps: what a cluster run executes,
/// minus the length.
final class PaperPresetPipelineTests: XCTestCase {
    func testThePaperPresetRunsEveryStageAtFullModelSize() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-paper-\(getpid())-\(UUID().uuidString.prefix(6))").path
        let config = base + ".json"
        try #"""
            {"data": {"trajectories": 10, "frames": 6},
             "train": {"epochs": null, "steps": 2, "global-batch": 4, "progress-seconds": 1000},
             "ode": {"steps": 3, "evaluate-every": 3, "progress-seconds": 1000},
             "evaluate": {"trajectories": 1}}
            """#.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try MPILauncher.runUnderMPI(ranks: 2, ["run", "--preset", "paper", "--config", config, "--out", base], timeout: 600)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        let kept = try Configuration.read(file: base + "/config.json")
        XCTAssertEqual(kept.train.preset, .paper)
        XCTAssertEqual(kept.ode.widths, [256, 256])
        let run = try JSONCoding.decode(RunConfiguration.self, from: Array(Data(contentsOf: URL(fileURLWithPath: base + "/cpae/config.json"))),
                                        file: "cpae/config.json")
        XCTAssertEqual([run.model.channels, run.model.height, run.model.kernel, run.model.latent], [3, 128, 12, 8])
        XCTAssertEqual(run.trainer.steps, 2)
        let latents = try LatentDataset(directory: base + "/ae/latents", verifyDigests: true)
        XCTAssertEqual(latents.dimension, 8)
        XCTAssertTrue(FileManager.default.fileExists(atPath: base + "/summary.json"), r.summary)
        try? FileManager.default.removeItem(atPath: base)
    }
}
