import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi bench scaling --phase ode` end to end: the command launches mpirun itself, once per
/// rank count, and reports every run. No timing thresholds: the machine is shared.
final class BenchScalingTests: XCTestCase {
    private struct Report: Decodable {
        struct Run: Decodable {
            var phase: String
            var mode: String
            var ranks: Int
            var samples_per_second: Double
            var global_batch: Int
            var local_batch: Int
            var steps: Int
            var undisturbed_steps: Int
        }
        var runs: [Run]
    }

    /// Both rank counts of both modes run the phase-2 step and report positive throughput, with
    /// the strong runs splitting the global batch and the weak runs keeping the per-rank batch.
    func testODEPhaseReportsBothRankCounts() throws {
        let result = try MPILauncher.runSingleton(["bench", "scaling", "--phase", "ode", "--ranks", "1,2",
                                                   "--global-batch", "64", "--batch-per-rank", "32",
                                                   "--steps", "2", "--quiet-wait", "0", "--json"], timeout: 180)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        XCTAssertEqual(report.runs.map(\.mode), ["strong", "strong", "weak", "weak"], result.summary)
        XCTAssertEqual(report.runs.map(\.ranks), [1, 2, 1, 2], result.summary)
        for run in report.runs {
            XCTAssertEqual(run.phase, "ode")
            XCTAssertGreaterThan(run.samples_per_second, 0)
            XCTAssertEqual(run.global_batch, run.local_batch * run.ranks)
            XCTAssertEqual(run.steps, 2)
            XCTAssertLessThanOrEqual(run.undisturbed_steps, run.steps)
        }
        XCTAssertEqual(report.runs.filter { $0.mode == "strong" }.map(\.global_batch), [64, 64])
        XCTAssertEqual(report.runs.filter { $0.mode == "weak" }.map(\.local_batch), [32, 32])
    }
}
