@testable import Bench
import Foundation
import TestLauncher
import XCTest

/// `bench train --peer` pairs our steps with the peer's one by one. The peer here is a stand-in shell
/// script speaking tools/bench_train_torch.py's protocol (--check, --serve), so the pairing, the
/// ratios and the failure paths are tested without torch; that the real script speaks it is checked
/// wherever torch is installed (the benchmark runs in docs/measurements).
final class BenchTrainPeerPairingTests: XCTestCase {
    /// Answers --check with a version, --serve with ready, a fixed 0.5 s per step, and its run on
    /// "end"; with FAIL_AT=k it exits 3 at its k-th step.
    private static let peer = #"""
        case "$1" in
          --check) echo '{"torch": "stand-in", "cpu_capability": "none"}'; exit 0 ;;
          --serve) ;;
          *) echo "stand-in peer: unexpected $1" >&2; exit 2 ;;
        esac
        echo 'starting'
        echo '{"ready": true}'
        n=0
        while read command; do
          case "$command" in
            step)
              n=$((n + 1))
              if [ "$n" = "${FAIL_AT:-0}" ]; then echo "stand-in peer: failing at step $n" >&2; exit 3; fi
              echo '{"seconds": 0.5, "otherCores": 0, "clean": true, "attempts": 1}' ;;
            end)
              echo "{\"threads\": 1, \"objective\": \"reconstruction\", \"batch\": 4, \"samples_per_second\": 8, \"step_seconds\": 0.5, \"peak_rss_mb\": 2, \"baseline_rss_mb\": 1, \"clean_samples\": $n, \"samples\": $n}"
              exit 0 ;;
            *) echo "stand-in peer: unknown command $command" >&2; exit 1 ;;
          esac
        done
        exit 1
        """#

    private func script(failAt: Int?) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("stand-in-peer-\(UUID().uuidString).sh")
        try ((failAt.map { "FAIL_AT=\($0)\n" } ?? "") + Self.peer).write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    private func benchTrain(peerScript: String) throws -> MPILauncher.Result {
        try MPILauncher.runSingleton(["bench", "train", "--preset", "small", "--threads", "1", "--objectives", "reconstruction",
                                      "--batch", "4", "--samples", "3", "--python", "/bin/sh", "--peer-script", peerScript, "--json"],
                                     timeout: 300)
    }

    private struct Report: Decodable {
        struct Peer: Decodable { var runs: [TorchTrainPeer.Run]; var error: String? }
        var runs: [StepBenchmark.Run]
        var peer: Peer?
    }

    /// Every step of ours has its peer step: the ratio is the median of the pairs' ratios (0.5 s over
    /// each of our steps), and the peer's own run is the one it reported.
    func testRatiosComeFromPairedSteps() throws {
        let result = try benchTrain(peerScript: try script(failAt: nil))
        XCTAssertEqual(result.exitCode, 0, result.summary)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        let ours = try XCTUnwrap(report.runs.first)
        let pairs = try XCTUnwrap(ours.pair_ratios)
        XCTAssertEqual(pairs.count, 3)
        XCTAssertEqual(ours.samples, 3)
        XCTAssertEqual(ours.ratio ?? 0, pairs.sorted()[1], accuracy: 1e-12)
        // Our reported step is a median of the same three steps the pairs divide 0.5 s by.
        XCTAssertLessThanOrEqual(pairs.min()!, 0.5 / ours.step_seconds * (1 + 1e-12))
        XCTAssertGreaterThanOrEqual(pairs.max()!, 0.5 / ours.step_seconds * (1 - 1e-12))
        let theirs = try XCTUnwrap(report.peer?.runs.first)
        XCTAssertEqual(theirs.samples_per_second, 8)
        XCTAssertEqual(theirs.samples, 3)
        XCTAssertNil(report.peer?.error)
    }

    /// A peer that dies mid-run: ours are still measured, and since --peer-script asked for the peer
    /// explicitly the run ends non-zero, naming the peer and its own reason.
    func testAPeerThatDiesFailsAnExplicitPeerRunWithItsReason() throws {
        let result = try benchTrain(peerScript: try script(failAt: 2))
        XCTAssertNotEqual(result.exitCode, 0, result.summary)
        XCTAssertTrue(result.stderr.contains("stand-in peer: failing at step 2"), result.summary)
        XCTAssertTrue(result.stderr.contains("PyTorch peer failed"), result.summary)
        XCTAssertTrue(result.stderr.contains("--peer:"), result.summary)
        XCTAssertFalse(result.timedOut, result.summary)
    }
}
