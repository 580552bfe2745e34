import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi bench scaling` end to end: the command launches mpirun itself, once per rank count and
/// transport, reports every run, fits each transport's link and projects. No timing thresholds:
/// the machine is shared; the checks are on structure and on the figures' consistency.
final class BenchScalingTests: XCTestCase {
    private struct Report: Decodable {
        struct Run: Decodable {
            var phase: String
            var transport: String
            var mode: String
            var ranks: Int
            var samples_per_second: Double
            var global_batch: Int
            var local_batch: Int
            var steps: Int
            var undisturbed_steps: Int
        }
        struct Point: Decodable {
            var phase: String
            var ranks: Int
            var local_batch: Int
            var step_seconds: Double
            var allreduce_seconds: Double
            var wait_seconds: Double
            var optimizer_seconds: Double
            var gradient_floats: Int
            var small_reduction_bytes: [Int]
            var allreduce_one_float_seconds: Double?
            var allreduce_gradient_seconds: Double?
        }
        struct Cost: Decodable, Equatable {
            var phase: String
            var compute_seconds_per_sample: Double
            var fixed_seconds_per_step: Double
            var gradient_floats: Int
            var small_reduction_bytes: [Int]
            var measured_local_batch: Int
        }
        struct Link: Decodable, Equatable { var latency_seconds: Double; var bytes_per_second: Double }
        struct Measured: Decodable { var costs: [Cost]; var links: [String: Link]; var points: [Point] }
        struct Row: Decodable, Equatable {
            struct Step: Decodable, Equatable {
                var ranks: Int
                var nodes: Int
                var link: String
                var local_batch: Int
                var global_batch: Int
                var compute_seconds: Double
                var fixed_seconds: Double
                var gradient_allreduce_seconds: Double
                var small_reductions_seconds: Double
                var step_seconds: Double
                var efficiency: Double
            }
            var phase: String
            var mode: String
            var step: Step
        }
        struct Projection: Decodable { var rows: [Row] }
        var runs: [Run]
        var measured: Measured
        var projection: Projection?
    }

    /// Phase 2 over both transports at np 1 and 2, projected to 8, 64 and 512 ranks; then the same
    /// projection again from the saved JSON (--measured), which must reproduce it exactly.
    func testODEPhaseBothTransportsAndProjection() throws {
        let result = try MPILauncher.runSingleton(["bench", "scaling", "--phase", "ode", "--ranks", "1,2", "--transport", "both",
                                                   "--global-batch", "64", "--batch-per-rank", "32",
                                                   "--steps", "2", "--quiet-wait", "0", "--project", "8,64,512", "--json"], timeout: 240)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        XCTAssertEqual(report.runs.map(\.transport), ["none", "shm", "none", "shm", "none", "tcp", "none", "tcp"], result.summary)
        XCTAssertEqual(report.runs.map(\.mode), ["strong", "strong", "weak", "weak", "strong", "strong", "weak", "weak"])
        XCTAssertEqual(report.runs.map(\.ranks), [1, 2, 1, 2, 1, 2, 1, 2])
        for run in report.runs {
            XCTAssertEqual(run.phase, "ode")
            XCTAssertGreaterThan(run.samples_per_second, 0)
            XCTAssertEqual(run.global_batch, run.local_batch * run.ranks)
            XCTAssertEqual(run.steps, 2)
            XCTAssertLessThanOrEqual(run.undisturbed_steps, run.steps)
        }
        XCTAssertEqual(report.runs.filter { $0.mode == "strong" }.map(\.global_batch), [64, 64, 64, 64])
        XCTAssertEqual(report.runs.filter { $0.mode == "weak" }.map(\.local_batch), [32, 32, 32, 32])

        // Launched once each: np 1 at 64 and 32 (shared by both transports), np 2 at 32 per transport.
        XCTAssertEqual(report.measured.points.count, 4)
        for p in report.measured.points {
            XCTAssertEqual(p.small_reduction_bytes, [], "phase 2 has no BatchNorm")
            XCTAssertGreaterThan(p.optimizer_seconds, 0)
            XCTAssertEqual(p.allreduce_one_float_seconds == nil, p.ranks == 1)
            XCTAssertEqual(p.allreduce_gradient_seconds == nil, p.ranks == 1)
        }
        // The cost comes from the one-rank run with the most samples (64): its step minus Adam (and the
        // stopwatch's nanoseconds around the skipped allreduce), per sample.
        let cost = try XCTUnwrap(report.measured.costs.first)
        let base = try XCTUnwrap(report.measured.points.first { $0.ranks == 1 && $0.local_batch == 64 })
        XCTAssertEqual(cost.measured_local_batch, 64)
        XCTAssertEqual(cost.gradient_floats, base.gradient_floats)
        XCTAssertEqual(cost.compute_seconds_per_sample, (base.step_seconds - base.allreduce_seconds - base.wait_seconds - base.optimizer_seconds) / 64,
                       accuracy: 1e-12)
        XCTAssertEqual(Set(report.measured.links.keys), ["shm", "tcp"], "both transports fitted")
        for link in report.measured.links.values {
            XCTAssertGreaterThan(link.bytes_per_second, 0)
            XCTAssertGreaterThanOrEqual(link.latency_seconds, 0)
        }

        // Rows: 8 ranks on one node once; 64 and 512 once per default link (10 and 100 Gb/s); strong then weak.
        let rows = try XCTUnwrap(report.projection?.rows)
        XCTAssertEqual(rows.map(\.step.ranks), [8, 64, 64, 512, 512, 8, 64, 64, 512, 512])
        XCTAssertEqual(rows.map(\.step.nodes), [1, 8, 8, 64, 64, 1, 8, 8, 64, 64])
        XCTAssertEqual(rows.map(\.mode), Array(repeating: "strong", count: 5) + Array(repeating: "weak", count: 5))
        XCTAssertEqual(rows.filter { $0.mode == "strong" }.map(\.step.local_batch), [2500, 313, 313, 40, 40])
        XCTAssertEqual(rows.filter { $0.mode == "weak" }.map(\.step.global_batch), [512, 4096, 4096, 32768, 32768])
        for row in rows {
            let s = row.step
            XCTAssertEqual(s.step_seconds, s.fixed_seconds + s.compute_seconds + s.gradient_allreduce_seconds + s.small_reductions_seconds,
                           accuracy: 1e-12)
            XCTAssertEqual(s.compute_seconds, cost.compute_seconds_per_sample * Double(s.local_batch), accuracy: 1e-12)
            XCTAssertGreaterThan(s.efficiency, 0)
            XCTAssertLessThanOrEqual(s.efficiency, 1 + 1e-12)
        }
        // The faster link can only help: at 64 and 512 ranks the 100 Gb/s row is faster than the 10 Gb/s one.
        for pair in [1, 3, 6, 8] {
            XCTAssertEqual(rows[pair].step.link, "10 Gb/s, 25 µs")
            XCTAssertEqual(rows[pair + 1].step.link, "100 Gb/s, 2 µs")
            XCTAssertLessThan(rows[pair + 1].step.step_seconds, rows[pair].step.step_seconds)
        }

        // The same projection from the saved JSON, without measuring again.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-scaling-\(UUID().uuidString).json")
        try Data(result.stdout.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let again = try MPILauncher.runSingleton(["bench", "scaling", "--measured", file.path, "--project", "8,64,512", "--json"], timeout: 60)
        XCTAssertEqual(again.exitCode, 0, again.summary)
        let reread = try JSONDecoder().decode(Report.self, from: Data(again.stdout.utf8))
        XCTAssertEqual(reread.projection?.rows, rows)
    }

    /// Both phases in one invocation (phase 1 at the small preset): the SyncBN reductions phase 1's
    /// step makes are counted from the real step, Double sums in threes per BatchNorm layer (two in
    /// forward, one in backward), the same at np 1 and 2; phase 2 makes none.
    func testBothPhasesCountSyncBatchNormReductions() throws {
        let result = try MPILauncher.runSingleton(["bench", "scaling", "--phase", "both", "--preset", "small", "--ranks", "1,2",
                                                   "--global-batch", "4", "--batch-per-rank", "2", "--steps", "1", "--warmup", "0",
                                                   "--quiet-wait", "0", "--json"], timeout: 240)
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        XCTAssertEqual(report.measured.costs.map(\.phase), ["ae", "ode"])
        XCTAssertEqual(Set(report.runs.map(\.phase)), ["ae", "ode"])
        XCTAssertTrue(report.measured.points.filter { $0.phase == "ode" }.allSatisfy { $0.small_reduction_bytes.isEmpty })
        XCTAssertNotNil(report.measured.links["shm"])
        let sizes = Set(report.measured.points.filter { $0.phase == "ae" }.map(\.small_reduction_bytes))
        XCTAssertEqual(sizes.count, 1, "the same reductions at every rank count and batch: \(sizes)")
        let bytes = try XCTUnwrap(sizes.first)
        XCTAssertFalse(bytes.isEmpty)
        XCTAssertEqual(bytes.count % 3, 0)
        XCTAssertTrue(bytes.allSatisfy { $0 % MemoryLayout<Double>.size == 0 }, "\(bytes)")
        // Forward: c + 1 then c Doubles; backward 2c — the first two of each layer differ by one Double.
        XCTAssertEqual(bytes[0] - bytes[1], MemoryLayout<Double>.size, "\(bytes)")
        XCTAssertTrue(bytes.allSatisfy { $0 < report.measured.costs[0].gradient_floats * 4 })
    }
}
