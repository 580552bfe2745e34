import Core
import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi sweep`: one knob's values as whole pipelines over rank groups, one shared dataset, and
/// the comparison over all points; a bad value refused before any work.
final class SweepTests: XCTestCase {
    private let tiny = """
        {"data": {"trajectories": 24, "frames": 16},
         "train": {"epochs": null, "steps": 4, "global-batch": 16, "checkpoint-every": 2, "progress-seconds": 1000},
         "ode": {"steps": 6, "widths": [16, 16], "evaluate-every": 3, "progress-seconds": 1000},
         "evaluate": {"trajectories": 2}}
        """

    private func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-sweep-\(name)-\(getpid())-\(UUID().uuidString.prefix(6))").path
    }

    func testThreeValuesOnTwoRankGroupsShareOneDatasetAndAreCompared() throws {
        let config = temporary("config") + ".json", out = temporary("out")
        try tiny.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: config) }
        let r = try MPILauncher.runUnderMPI(ranks: 2, ["sweep", "--config", config, "--key", "train.penalty-weight",
                                                       "--values", "0", "1", "10", "--models", "cpae", "--out", out], timeout: 300)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("in 2 group(s)"), r.summary)
        XCTAssertTrue(r.stderr.contains("group 0 (1 rank(s)): train.penalty-weight = 0") && r.stderr.contains("group 1 (1 rank(s)): train.penalty-weight = 1"),
                      "points go round-robin over the groups\n" + r.summary)
        let file = try FileReader(path: out + "/" + SweepReport.summaryFileName)
        let summary = try JSONCoding.decode(SweepReport.Summary.self, from: file.read(count: file.size, at: 0), file: "sweep.json")
        XCTAssertEqual(summary.points.map(\.value), ["0", "1", "10"])
        XCTAssertEqual(summary.groups, 2)
        for (point, weight) in zip(summary.points, [Float(0), 1, 10]) {
            XCTAssertEqual(point.models.map(\.name), ["cpae"])
            let c = try Configuration.read(file: point.directory + "/config.json")
            XCTAssertEqual(c.train.penaltyWeight, weight, "the point's own value")
            XCTAssertEqual(c.data.dir, out + "/data", "every point uses the one shared dataset")
            let ranks = try JSONCoding.decode(PipelineReport.Summary.self, from: Array(Data(contentsOf: URL(fileURLWithPath: point.directory + "/summary.json"))),
                                              file: "summary.json").ranks
            XCTAssertEqual(ranks, 1, "each point ran on its group of one rank")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: summary.points[0].directory + "/data"))
        for name in ["report.md", SweepReport.figureFileName, "data/manifest.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), "missing \(name)")
        }
        XCTAssertTrue(r.stdout.contains("| 10 | CpAE |"), r.summary)
    }

    func testABadValueIsNamedBeforeAnyWork() throws {
        let config = temporary("config") + ".json", out = temporary("bad")
        try tiny.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let r = try MPILauncher.runUnderMPI(ranks: 2, ["sweep", "--config", config, "--key", "train.kernel", "--values", "4", "5", "--out", out], timeout: 60)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("train.kernel=5") && r.stderr.contains("key train.kernel: must be even"), r.summary)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing may be written for a bad value")
    }
}
