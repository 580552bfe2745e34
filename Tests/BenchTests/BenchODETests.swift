import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi bench ode --deterministic` end to end on a small model: one cost per thread count with
/// every alternated pair of every round, the median of them, the unit train-ode would use (or the one
/// given), and a unit that does not divide the batch refused. No timing thresholds: the machine is
/// shared; the checks are on structure and consistency.
final class BenchODETests: XCTestCase {
    private struct Report: Decodable {
        struct Run: Decodable { var threads: Int; var batch: Int; var iterations_per_second: Double }
        struct Cost: Decodable {
            var threads: Int
            var batch: Int
            var deterministic_unit: Int
            var default_step_seconds: Double
            var deterministic_step_seconds: Double
            var costs: [Double]
            var cost: Double
            var samples: Int
        }
        var runs: [Run]
        var deterministic: [Cost]?
    }

    private func bench(_ extra: [String]) throws -> (Report?, MPILauncher.Result) {
        let r = try MPILauncher.runSingleton(["bench", "ode", "--batch", "96", "--width", "16", "--dimension", "4", "--samples", "3",
                                             "--rounds", "2", "--threads", "1,2", "--quiet-wait", "0", "--json"] + extra)
        guard r.exitCode == 0 else { return (nil, r) }
        return (try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8)), r)
    }

    func testDeterministicCostPerThreadCountFromEveryAlternatedPair() throws {
        for (extra, unit) in [([String](), 3), (["--deterministic-unit", "12"], 12)] {
            let (report, r) = try bench(["--deterministic"] + extra)
            guard let report else { XCTFail(r.summary); continue }
            XCTAssertEqual(report.runs.map(\.threads), [1, 2])
            let costs = try XCTUnwrap(report.deterministic, r.summary)
            XCTAssertEqual(costs.map(\.threads), [1, 2])
            for c in costs {
                XCTAssertEqual(c.deterministic_unit, unit, "96 pairs: 32 units of 3 by default, or the unit given")
                XCTAssertEqual(c.batch, 96)
                XCTAssertEqual(c.costs.count, 3 * 2, "every pair of both rounds")
                XCTAssertEqual(c.samples, c.costs.count)
                let sorted = c.costs.sorted()
                XCTAssertEqual(c.cost, (sorted[2] + sorted[3]) / 2, accuracy: 1e-12, "the median of the pairs")
                XCTAssertTrue(c.costs.allSatisfy { $0.isFinite && $0 > -1 }, "\(c.costs)")
                XCTAssertGreaterThan(c.default_step_seconds, 0)
                XCTAssertGreaterThan(c.deterministic_step_seconds, 0)
            }
        }
        let (plain, r) = try bench([])
        XCTAssertNil(try XCTUnwrap(plain, r.summary).deterministic, "no cost without --deterministic")
        let (_, refused) = try bench(["--deterministic", "--deterministic-unit", "5"])
        XCTAssertNotEqual(refused.exitCode, 0)
        XCTAssertTrue(refused.stderr.contains("--deterministic-unit 5 must be ≥ 1 and divide --batch 96"), refused.summary)
    }
}
