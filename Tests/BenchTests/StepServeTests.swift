@testable import Bench
import Core
import Foundation
import TestLauncher
import XCTest

/// `bench train --single --serve`: the step timed one at a time on the parent's command, which is how
/// `bench train --peer` alternates our steps with the PyTorch peer's. Structure only: the machine is
/// shared, so no timing is asserted beyond what the protocol guarantees.
final class StepServeTests: XCTestCase {
    private func bench() -> StepBenchmark {
        var timer = GuardedTimer()
        timer.maxQuietWait = 0   // a test must not wait for a quiet machine
        timer.warmups = 1
        return StepBenchmark(config: ModelConfig.preset(.small), batch: 4, timer: timer)
    }

    /// Ready first, one sample per "step", then the run of exactly those samples on "end".
    func testServeAnswersEveryCommandAndReportsTheServedSteps() throws {
        var commands = ["step", "step", "step", "end"][...]
        var answers: [Data] = []
        try bench().serve(threads: 1, objective: .reconstruction, next: { commands.popFirst() }) { answers.append($0) }
        XCTAssertTrue(commands.isEmpty)
        XCTAssertEqual(answers.count, 5)
        struct Ready: Decodable { var ready: Bool }
        XCTAssertEqual(try JSONDecoder().decode(Ready.self, from: answers[0]).ready, true)
        let samples = try answers[1...3].map { try JSONDecoder().decode(GuardedTimer.Sample.self, from: $0) }
        XCTAssertTrue(samples.allSatisfy { $0.seconds > 0 && $0.attempts >= 1 })
        let run = try JSONDecoder().decode(StepBenchmark.Run.self, from: answers[4])
        XCTAssertEqual(run.samples, 3)
        XCTAssertEqual(run.threads, 1)
        XCTAssertEqual(run.objective, "reconstruction")
        XCTAssertEqual(run.clean_samples, samples.filter(\.clean).count)
        // The reported step is the median of the served samples (all of them, or the clean ones).
        let clean = samples.filter(\.clean).map(\.seconds)
        let expected = median(clean.isEmpty ? samples.map(\.seconds) : clean)
        XCTAssertEqual(run.step_seconds, expected, accuracy: 1e-12)
        XCTAssertEqual(run.samples_per_second, 4 / expected, accuracy: 1e-9)
        XCTAssertGreaterThan(run.peak_rss_mb, 0)
        XCTAssertNil(run.pair_ratios, "pairs are the parent's to fill in")
    }

    /// A command it does not know, "end" before any step, and input that ends early are errors.
    func testServeRejectsWhatIsNotTheProtocol() {
        for script in [["step", "stop"], ["end"], ["step"]] {
            var commands = script[...]
            var answers = 0
            XCTAssertThrowsError(try bench().serve(threads: 1, objective: .reconstruction, next: { commands.popFirst() }) { _ in answers += 1 },
                                 "\(script)") { error in
                XCTAssertTrue("\(error)".contains("--serve"), "\(error)")
            }
            XCTAssertEqual(answers, 1 + script.filter { $0 == "step" }.count, "ready and one answer per step before the error")
        }
    }

    /// The served child end to end, commands on its stdin: JSON lines only, then exit 0; a bad
    /// command exits non-zero with the reason on stderr.
    func testServedChildSpeaksTheProtocolOverPipes() throws {
        let exe = try MPILauncher.executable()
        let arguments = "bench train --single --serve --preset small --threads 2 --objectives reference --batch 4 --samples 1"
        let ok = try MPILauncher.run(["/bin/sh", "-c", "printf 'step\\nstep\\nend\\n' | exec '\(exe)' \(arguments)"], timeout: 120)
        XCTAssertEqual(ok.exitCode, 0, ok.summary)
        let lines = ok.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }
        XCTAssertEqual(lines.count, 4, ok.summary)
        let run = try JSONDecoder().decode(StepBenchmark.Run.self, from: Data(lines[3].utf8))
        XCTAssertEqual(run.samples, 2)
        XCTAssertEqual(run.threads, 2)
        XCTAssertEqual(run.objective, "reference")

        let bad = try MPILauncher.run(["/bin/sh", "-c", "printf 'step\\nfaster\\n' | exec '\(exe)' \(arguments)"], timeout: 120)
        XCTAssertNotEqual(bad.exitCode, 0, bad.summary)
        XCTAssertTrue(bad.stderr.contains("unknown command 'faster'"), bad.summary)
    }
}
