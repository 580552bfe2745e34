@testable import Bench
import Foundation
import TestLauncher
import XCTest

/// `bench train --rounds`: the summary's medians, ranges and speed-ups from known runs, and the
/// command end to end on the small preset (structure and consistency only: the machine is shared,
/// so no timing is asserted).
final class BenchTrainRoundsTests: XCTestCase {
    private func run(round: Int, threads: Int, objective: String = "reconstruction", sps: Double, ratio: Double? = nil,
                     unit: Int? = nil, cost: Double? = nil) -> StepBenchmark.Run {
        StepBenchmark.Run(threads: threads, objective: objective, batch: 4, samples_per_second: sps, step_seconds: 4 / sps,
                          regularizer_share: 0, regularizer_seconds: 0, gflops: 1, clean_samples: 1, samples: 1,
                          algorithm: "auto", peak_rss_mb: 1, baseline_rss_mb: 1, ratio: ratio,
                          deterministic: unit != nil, deterministic_cost: cost, deterministic_unit: unit, round: round)
    }

    func testMediansRangesAndSpeedUpsArePerConfigurationAndRound() {
        let runs = [
            run(round: 1, threads: 1, sps: 10, ratio: 1.5), run(round: 1, threads: 1, sps: 9, unit: 1, cost: 0.11),
            run(round: 1, threads: 2, sps: 19, ratio: 1.7),
            run(round: 2, threads: 1, sps: 8, ratio: 1.2), run(round: 2, threads: 1, sps: 7, unit: 1, cost: 0.14),
            run(round: 2, threads: 2, sps: 16, ratio: 1.8),
            run(round: 3, threads: 1, sps: 12, ratio: 1.6), run(round: 3, threads: 1, sps: 11, unit: 1, cost: 0.09),
            run(round: 3, threads: 2, sps: 21, ratio: 1.9),
        ]
        let s = StepRoundSummary(runs: runs)
        XCTAssertEqual(s.rounds, 3)
        XCTAssertEqual(s.configurations.map(\.threads), [1, 1, 2])
        XCTAssertEqual(s.configurations.map(\.deterministic_unit), [nil, 1, nil])
        let one = s.configurations[0]
        XCTAssertEqual(one.rounds, 3)
        XCTAssertEqual(one.samples_per_second, StepRoundSummary.Spread([10, 8, 12]))
        XCTAssertEqual(one.ratio?.median, 1.5)
        XCTAssertEqual(one.ratio?.min, 1.2)
        XCTAssertEqual(one.ratio?.max, 1.6)
        XCTAssertNil(one.deterministic_cost)
        XCTAssertEqual(s.configurations[1].deterministic_cost?.median, 0.11)
        XCTAssertNil(s.configurations[1].ratio)
        // Speed-ups pair each round's runs: 19/10, 16/8, 21/12 — not the ratio of the medians (20/10).
        XCTAssertEqual(s.speedups.count, 1)
        let up = s.speedups[0]
        XCTAssertEqual(up.threads, 2)
        XCTAssertEqual(up.over_threads, 1)
        XCTAssertNil(up.deterministic_unit)
        XCTAssertEqual(up.speedup.median, 1.9, accuracy: 1e-12)
        XCTAssertEqual(up.speedup.min, 1.75, accuracy: 1e-12)
        XCTAssertEqual(up.speedup.max, 2.0, accuracy: 1e-12)
    }

    /// The alternated speed-ups pool every cycle of every round per (objective, thread count).
    func testAlternatedSpeedUpsPoolTheCyclesOfAllRounds() {
        func scaling(_ objective: String, _ ups: [Double], host: [Double]? = nil, round: Int) -> StepBenchmark.ThreadScaling {
            StepBenchmark.ThreadScaling(objective: objective, batch: 4, threads: [1, 2], step_seconds: [1, 0.5],
                                        speedups: [ups.map { _ in 1 }, ups], host_speedups: host.map { [$0.map { _ in 1 }, $0] },
                                        clean_cycles: ups.count, cycles: ups.count, algorithm: "auto", round: round)
        }
        var s = StepRoundSummary(runs: [run(round: 1, threads: 1, sps: 10, ratio: nil)])
        XCTAssertNil(s.alternated_speedups)
        s.addAlternated([scaling("reference", [1.7, 1.9], round: 1), scaling("reconstruction", [1.5], round: 1),
                         scaling("reference", [1.8, 2.0, 1.6], round: 2)])
        let ups = s.alternated_speedups ?? []
        XCTAssertEqual(ups.map(\.objective), ["reference", "reconstruction"])
        XCTAssertEqual(ups.map(\.cycles), [5, 1])
        XCTAssertEqual(ups.map(\.threads), [2, 2])
        XCTAssertEqual(ups.map(\.over_threads), [1, 1])
        XCTAssertEqual(ups[0].speedup, StepRoundSummary.Spread([1.7, 1.9, 1.8, 2.0, 1.6]))
        XCTAssertEqual(ups[0].speedup.median, 1.8, accuracy: 1e-12)
        // Reports written before the host probe have no host figures.
        XCTAssertNil(ups[0].host_speedup)
        XCTAssertNil(ups[0].of_host)
    }

    /// The host's speed-up pools like the step's, and the step's share of it is taken cycle by cycle
    /// (not the ratio of the two medians); measurements without the probe add nothing to either.
    func testAlternatedHostSpeedUpsPairWithTheirCycles() throws {
        func scaling(_ ups: [Double], host: [Double]?, round: Int) -> StepBenchmark.ThreadScaling {
            StepBenchmark.ThreadScaling(objective: "reference", batch: 4, threads: [1, 2], step_seconds: [1, 0.5],
                                        speedups: [ups.map { _ in 1 }, ups], host_speedups: host.map { [$0.map { _ in 1 }, $0] },
                                        clean_cycles: ups.count, cycles: ups.count, algorithm: "auto", round: round)
        }
        var s = StepRoundSummary(runs: [run(round: 1, threads: 1, sps: 10, ratio: nil)])
        s.addAlternated([scaling([1.8, 1.5], host: [2.0, 1.5], round: 1), scaling([1.6], host: nil, round: 2),
                         scaling([1.9], host: [1.9], round: 3)])
        let up = try XCTUnwrap(s.alternated_speedups?.first)
        XCTAssertEqual(up.cycles, 4)
        XCTAssertEqual(up.speedup, StepRoundSummary.Spread([1.8, 1.5, 1.6, 1.9]))
        XCTAssertEqual(up.host_speedup, StepRoundSummary.Spread([2.0, 1.5, 1.9]))
        // 1.8/2.0, 1.5/1.5, 1.9/1.9: median 1.0, where the medians' ratio would be 1.7/1.9.
        XCTAssertEqual(up.of_host?.median ?? 0, 1.0, accuracy: 1e-12)
        XCTAssertEqual(up.of_host?.min ?? 0, 0.9, accuracy: 1e-12)
    }

    /// The alternated deterministic costs pool every cycle of every round per (threads, objective, unit).
    func testAlternatedDeterministicCostsPoolTheCyclesOfAllRounds() {
        func cost(_ threads: Int, unit: Int, _ costs: [Double], round: Int) -> StepBenchmark.DeterministicCost {
            StepBenchmark.DeterministicCost(objective: "reconstruction", batch: 4, threads: threads, deterministic_unit: unit,
                                            step_seconds: [1, 1.1], costs: costs, clean_cycles: costs.count, cycles: costs.count,
                                            algorithm: "auto", round: round)
        }
        var s = StepRoundSummary(runs: [run(round: 1, threads: 1, sps: 10, ratio: nil)])
        XCTAssertNil(s.alternated_deterministic_costs)
        s.addAlternated([cost(1, unit: 1, [0.08, 0.12], round: 1), cost(1, unit: 2, [0.04], round: 1),
                         cost(2, unit: 1, [0.2], round: 1), cost(1, unit: 1, [0.09, 0.30, 0.10], round: 2)])
        let costs = s.alternated_deterministic_costs ?? []
        XCTAssertEqual(costs.map(\.threads), [1, 1, 2])
        XCTAssertEqual(costs.map(\.deterministic_unit), [1, 2, 1])
        XCTAssertEqual(costs.map(\.cycles), [5, 1, 1])
        XCTAssertEqual(costs[0].cost, StepRoundSummary.Spread([0.08, 0.12, 0.09, 0.30, 0.10]))
        XCTAssertEqual(costs[0].cost.median, 0.10, accuracy: 1e-12)
        XCTAssertEqual(costs[0].cost.max, 0.30, accuracy: 1e-12)
        XCTAssertNil(s.alternated_speedups)
    }

    func testASingleRoundWithoutRoundNumbersIsOneRound() {
        let s = StepRoundSummary(runs: [run(round: 1, threads: 1, sps: 5), run(round: 1, threads: 2, sps: 9)].map {
            var r = $0
            r.round = nil
            return r
        })
        XCTAssertEqual(s.rounds, 1)
        XCTAssertEqual(s.speedups.first?.speedup.median ?? 0, 1.8, accuracy: 1e-12)
        XCTAssertEqual(s.speedups.first?.speedup.min, s.speedups.first?.speedup.max)
    }

    private struct Report: Decodable {
        var runs: [StepBenchmark.Run]
        var alternated: [StepBenchmark.ThreadScaling]
        var alternated_deterministic: [StepBenchmark.DeterministicCost]
        var summary: StepRoundSummary
    }

    func testBenchTrainRoundsEndToEnd() throws {
        let result = try MPILauncher.runSingleton(["bench", "train", "--preset", "small", "--objectives", "reconstruction",
                                                   "--threads", "1,2", "--batch", "4", "--samples", "1", "--rounds", "2",
                                                   "--deterministic", "--no-peer", "--json"], timeout: 300)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        // Per round: default and deterministic at 1 and 2 threads.
        XCTAssertEqual(report.runs.count, 8)
        XCTAssertEqual(report.runs.map(\.round), [1, 1, 1, 1, 2, 2, 2, 2])
        var expected = StepRoundSummary(runs: report.runs)
        expected.addAlternated(report.alternated)
        expected.addAlternated(report.alternated_deterministic)
        XCTAssertEqual(report.summary, expected)
        // One alternated measurement per round (one objective), one sample per thread count per cycle.
        XCTAssertEqual(report.alternated.map(\.round), [1, 2])
        for a in report.alternated {
            XCTAssertEqual(a.threads, [1, 2])
            XCTAssertEqual(a.cycles, 1)
            XCTAssertEqual(a.speedups.map(\.count), [1, 1])
            XCTAssertEqual(a.speedups[0], [1])
            XCTAssertTrue(a.step_seconds.allSatisfy { $0 > 0 })
            XCTAssertEqual(a.speedups[1][0], a.step_seconds[0] / a.step_seconds[1], accuracy: 1e-12)
            // The host probe ran in the same cycle at both counts; its speed-up cannot be measured
            // exactly, but it is a positive ratio of real timings.
            let host = try XCTUnwrap(a.host_speedups)
            XCTAssertEqual(host.map(\.count), [1, 1])
            XCTAssertEqual(host[0], [1])
            XCTAssertTrue(host[1][0].isFinite && host[1][0] > 0)
        }
        XCTAssertNotNil(report.summary.alternated_speedups?.first?.host_speedup)
        XCTAssertNotNil(report.summary.alternated_speedups?.first?.of_host)
        XCTAssertEqual(report.summary.alternated_speedups?.map(\.cycles), [2])
        // One alternated mode measurement per round and thread count (one objective, unit 1); each
        // cycle's cost is its deterministic step over its default step.
        XCTAssertEqual(report.alternated_deterministic.map(\.round), [1, 1, 2, 2])
        XCTAssertEqual(report.alternated_deterministic.map(\.threads), [1, 2, 1, 2])
        for c in report.alternated_deterministic {
            XCTAssertEqual(c.deterministic_unit, 1)
            XCTAssertEqual(c.cycles, 1)
            XCTAssertEqual(c.costs.count, 1)
            XCTAssertTrue(c.step_seconds.count == 2 && c.step_seconds.allSatisfy { $0 > 0 })
            XCTAssertEqual(c.costs[0], c.step_seconds[1] / c.step_seconds[0] - 1, accuracy: 1e-12)
        }
        XCTAssertEqual(report.summary.alternated_deterministic_costs?.map(\.cycles), [2, 2])
        XCTAssertEqual(report.summary.alternated_deterministic_costs?.map(\.threads), [1, 2])
        XCTAssertEqual(report.summary.rounds, 2)
        XCTAssertEqual(report.summary.configurations.count, 4)
        for c in report.summary.configurations {
            XCTAssertEqual(c.rounds, 2)
            XCTAssertLessThanOrEqual(c.samples_per_second.min, c.samples_per_second.median)
            XCTAssertLessThanOrEqual(c.samples_per_second.median, c.samples_per_second.max)
            XCTAssertEqual(c.deterministic_cost != nil, c.deterministic_unit != nil)
        }
        XCTAssertEqual(report.summary.speedups.map(\.threads), [2, 2])

        let refused = try MPILauncher.runSingleton(["bench", "train", "--preset", "small", "--rounds", "0", "--no-peer"], timeout: 60)
        XCTAssertNotEqual(refused.exitCode, 0)
        XCTAssertTrue(refused.stderr.contains("--rounds"), refused.summary)
    }
}
