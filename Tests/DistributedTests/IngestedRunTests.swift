import Core
import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi run --data DIR` on an ingested dataset (Chen et al.'s folder layout, as real video
/// arrives): every stage runs, and since there is no simulator to render between frames the report
/// says that interpolation is not scored, and why, instead of a number.
final class IngestedRunTests: XCTestCase {
    func testAnIngestedDatasetRunsThroughThePipelineAndTheReportSaysWhyInterpolationIsMissing() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-ingested-\(getpid())-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let folders = base + "/folders", dataset = base + "/dataset", run = base + "/run", config = base + "/config.json"
        let made = try MPILauncher.runSingleton(["generate", "--system", "pendulum", "--trajectories", "20", "--frames", "16", "--size", "32",
                                                 "--channels", "1", "--format", "png-folders", "--out", folders, "--quiet"], timeout: 120)
        XCTAssertEqual(made.exitCode, 0, made.summary)
        let ingested = try MPILauncher.runSingleton(["ingest", "--folders", folders, "--out", dataset, "--size", "32", "--channels", "1", "--quiet"], timeout: 120)
        XCTAssertEqual(ingested.exitCode, 0, ingested.summary)
        try #"""
            {"train": {"epochs": null, "steps": 4, "global-batch": 16, "progress-seconds": 1000},
             "ode": {"steps": 6, "widths": [16, 16], "evaluate-every": 3, "progress-seconds": 1000},
             "evaluate": {"trajectories": 2}}
            """#.write(toFile: config, atomically: true, encoding: .utf8)
        let r = try MPILauncher.runUnderMPI(ranks: 2, ["run", "--data", dataset, "--config", config, "--out", run], timeout: 300)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/data"), "the given dataset is used, nothing simulated")
        let file = try FileReader(path: run + "/summary.json")
        let summary = try JSONCoding.decode(PipelineReport.Summary.self, from: file.read(count: file.size, at: 0), file: "summary.json")
        XCTAssertEqual(summary.models.map(\.name), ["cpae", "ae"])
        for m in summary.models {
            XCTAssertNil(m.interpolationMSE, m.name)
            let reason = try XCTUnwrap(m.interpolationUnavailable, "\(m.name): the summary must say why there is no interpolation score")
            XCTAssertFalse(reason.isEmpty)
            XCTAssertNil(m.stateR2, "\(m.name): an ingested dataset has no true state to regress on")
            XCTAssertEqual(Set(m.vpt.keys), ["0.0025", "0.005", "0.01"], "prediction is still scored")
        }
        let report = try String(contentsOfFile: run + "/report.md", encoding: .utf8)
        XCTAssertTrue(report.contains("interpolation not scored — "), report)
    }
}
