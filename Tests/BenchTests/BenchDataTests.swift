import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi bench data` end to end at a tiny size: the single-core report and the per-rank loader
/// rates under mpirun at np 1 and 2. No timing thresholds (the machine is shared); the checks are
/// on structure and on the figures' consistency with each other.
final class BenchDataTests: XCTestCase {
    private struct Report: Decodable {
        struct PerRank: Decodable {
            var ranks: Int
            var frames_per_second_per_rank: [Double]
            var slowest_frames_per_second: Double
            var total_frames_per_second: Double
            var local_batch: Int
        }
        var frames_per_second: Double
        var samples_per_second: Double
        var per_rank: [PerRank]?
    }

    func testPerRankLoaderRatesAtOneAndTwoRanks() throws {
        let result = try MPILauncher.runSingleton(["bench", "data", "--trajectories", "8", "--frames", "8", "--size", "16",
                                                   "--batch", "4", "--repeats", "2", "--quiet-wait", "0", "--json"], timeout: 180)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        XCTAssertEqual(report.frames_per_second, 2 * report.samples_per_second, accuracy: 1e-9 * report.frames_per_second)
        let perRank = try XCTUnwrap(report.per_rank, result.summary)
        XCTAssertEqual(perRank.map(\.ranks), [1, 2])
        for p in perRank {
            XCTAssertEqual(p.frames_per_second_per_rank.count, p.ranks)
            XCTAssertEqual(p.local_batch, 4)
            for rate in p.frames_per_second_per_rank { XCTAssertGreaterThan(rate, 0) }
            XCTAssertEqual(p.slowest_frames_per_second, p.frames_per_second_per_rank.min()!)
            XCTAssertEqual(p.total_frames_per_second, p.frames_per_second_per_rank.reduce(0, +),
                           accuracy: 1e-9 * p.total_frames_per_second)
        }
    }
}
