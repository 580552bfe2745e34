import Bench
import Distributed
import Foundation
import TestLauncher
import XCTest

/// Launches `cpae-mpi mpi-selftest` as real jobs: a singleton without mpirun, 2 and 4 ranks under
/// mpirun, and the three failures the job must turn into a prompt, clear, non-zero exit.
/// If mpirun is missing these tests FAIL (with the install hint), they never skip.
final class MPILaunchTests: XCTestCase {
    /// The checks every healthy run must report as passed.
    private let essentialChecks = [
        "allreduce Float sum", "allreduce Float max", "allreduce Float min",
        "allreduce Double sum", "allreduce Double max", "allreduce Double min",
        "allreduce Int sum", "allreduce UInt64 max", "allreduce UInt64 sum", "allreduce 4000000 floats",
        "ReplicaGroup sum Double", "ReplicaGroup sum Float", "ReplicaGroup broadcast value",
        "broadcast Float", "broadcast Double", "broadcast UInt8",
        "broadcast Data", "broadcast String", "allgather String", "agree", "MPI errors return",
    ]

    private func report(from result: MPILauncher.Result, file: StaticString = #filePath, line: UInt = #line) throws
        -> MPISelfTest.Report {
        let lines = result.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(lines.count, 1, "exactly one JSON line (from rank 0) expected\n\(result.summary)", file: file, line: line)
        let json = try XCTUnwrap(lines.last, "no JSON line\n\(result.summary)", file: file, line: line)
        return try JSONDecoder().decode(MPISelfTest.Report.self, from: Data(json.utf8))
    }

    private func assertHealthy(_ result: MPILauncher.Result, ranks: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(result.timedOut, result.summary, file: file, line: line)
        XCTAssertEqual(result.exitCode, 0, result.summary, file: file, line: line)
        let report = try report(from: result, file: file, line: line)
        XCTAssertTrue(report.ok, "\(report.failures)", file: file, line: line)
        XCTAssertEqual(report.failures, [], file: file, line: line)
        XCTAssertEqual(report.ranks, ranks, file: file, line: line)
        XCTAssertEqual(report.ranksOnNode0, ranks, "one node: every rank shares it", file: file, line: line)
        XCTAssertEqual(report.processorNames.count, ranks, file: file, line: line)
        for check in essentialChecks {
            XCTAssertTrue(report.passed.contains(check), "check '\(check)' missing from \(report.passed)", file: file, line: line)
        }
        XCTAssertEqual(report.timedAllreduceFloats, 1_304_818, file: file, line: line)
        if ranks > 1 {
            // Several ranks on one node, no user override (the launcher clears it): 1 thread each.
            XCTAssertEqual(report.blasThreadsPerRank, 1, report.blasThreadsReason, file: file, line: line)
            XCTAssertGreaterThan(report.timedAllreduceMedianSeconds, 0, file: file, line: line)
            XCTAssertLessThan(report.timedAllreduceMedianSeconds, 1, "1.3 M floats should reduce in ms", file: file, line: line)
        }
        XCTAssertEqual(result.stderr.contains("cpae-mpi: rank"), false, "no error lines expected\n\(result.summary)",
                       file: file, line: line)
    }

    func testSingletonWithoutMpirun() throws {
        let result = try MPILauncher.runSingleton(["mpi-selftest", "--timing-repeats", "3"])
        try assertHealthy(result, ranks: 1)
    }

    func testTwoRanks() throws {
        try assertHealthy(try MPILauncher.runUnderMPI(ranks: 2, ["mpi-selftest"]), ranks: 2)
    }

    func testFourRanks() throws {
        try assertHealthy(try MPILauncher.runUnderMPI(ranks: 4, ["mpi-selftest", "--timing-repeats", "5"]), ranks: 4)
    }

    /// Rank 2 throws while ranks 0, 1, 3 wait in an allreduce: MPI_Abort must end the job quickly.
    func testFailingRankEndsTheJobWithinTenSeconds() throws {
        let result = try MPILauncher.runUnderMPI(ranks: 4, ["mpi-selftest", "--fail-rank", "2", "--fail-after-seconds", "1"],
                                                 timeout: 30)
        XCTAssertFalse(result.timedOut, "the job hung\n\(result.summary)")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertLessThan(result.seconds, 10, result.summary)
        XCTAssertGreaterThanOrEqual(result.seconds, 1, "rank 2 waits 1 s before failing\n\(result.summary)")
        XCTAssertTrue(result.stderr.contains("cpae-mpi: rank 2: provoked failure (--fail-rank 2) after 1.0 s"), result.summary)
        XCTAssertFalse(result.stderr.contains("the allreduce completed"), result.summary)
        XCTAssertFalse(result.stdout.contains("{"), "no report after a failure\n\(result.summary)")
    }

    /// Rank 1 dies by SIGKILL (like an OOM kill) while the others wait: mpirun must end the job.
    func testKilledRankEndsTheJobWithinTenSeconds() throws {
        let result = try MPILauncher.runUnderMPI(ranks: 3, ["mpi-selftest", "--crash-rank", "1", "--fail-after-seconds", "0.5"],
                                                 timeout: 30)
        XCTAssertFalse(result.timedOut, "the job hung\n\(result.summary)")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertLessThan(result.seconds, 10, result.summary)
        XCTAssertTrue(result.stderr.contains("cpae-mpi: rank 1: provoked crash (--crash-rank): SIGKILL to self"), result.summary)
        XCTAssertFalse(result.stderr.contains("the allreduce completed"), result.summary)
    }

    /// Rank 2 hangs outside MPI while ranks 0 and 1 wait in an allreduce: their watchdog (2 s) must
    /// end the job with a message naming the stuck collective, instead of a silent hang.
    func testWatchdogEndsAHungJob() throws {
        let result = try MPILauncher.runUnderMPI(ranks: 3, ["mpi-selftest", "--hang-rank", "2", "--stall-timeout", "2"],
                                                 timeout: 30)
        XCTAssertFalse(result.timedOut, "the job hung\n\(result.summary)")
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertGreaterThanOrEqual(result.seconds, 2, result.summary)
        XCTAssertLessThan(result.seconds, 10, result.summary)
        // The first rank whose watchdog fires ends the job; the other may be killed before it prints.
        let pattern = try NSRegularExpression(pattern:
            #"^cpae-mpi: rank ([01]): collective #\d+ \(MPI_Allreduce of 1 × Float\) has not completed after \d+ s \(watchdog timeout 2.0 s\)"#,
            options: .anchorsMatchLines)
        XCTAssertFalse(ranksMatching(pattern, in: result.stderr).isEmpty, result.summary)
    }

    /// Rank 3 hashes a different configuration: every rank says which ranks differ, and exits non-zero.
    func testConfigurationMismatchIsReportedOnEveryRank() throws {
        let result = try MPILauncher.runUnderMPI(ranks: 4, ["mpi-selftest", "--mismatch-rank", "3"], timeout: 30)
        XCTAssertFalse(result.timedOut, result.summary)
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        let pattern = try NSRegularExpression(pattern:
            #"^cpae-mpi: rank ([0-3]): configuration differs between ranks: ranks 0-2 hash 0x[0-9a-f]{16}; rank 3 hash 0x[0-9a-f]{16} — every rank must get the same flags and dataset$"#,
            options: .anchorsMatchLines)
        XCTAssertEqual(Set(ranksMatching(pattern, in: result.stderr)), [0, 1, 2, 3], result.summary)
        XCTAssertFalse(result.stdout.contains("{"), result.summary)
    }

    /// Options that are wrong for the job size are rejected on every rank, not hung on.
    func testOutOfRangeRankOptionIsACleanError() throws {
        let result = try MPILauncher.runUnderMPI(ranks: 2, ["mpi-selftest", "--fail-rank", "5"], timeout: 30)
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stderr.contains("--fail-rank 5 is out of range: the job has 2 rank(s), 0..<2"), result.summary)
    }

    private func ranksMatching(_ pattern: NSRegularExpression, in text: String) -> [Int] {
        pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
            Range(match.range(at: 1), in: text).flatMap { Int(text[$0]) }
        }
    }
}
