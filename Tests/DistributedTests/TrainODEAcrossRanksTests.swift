import Core
import Foundation
import TestLauncher
import XCTest

/// `train-ode` (and `evaluate` after it) under mpirun: the same training at any rank count,
/// bit-identical repeats and resume, NaN consensus — phase 1's guarantees, for phase 2.
final class TrainODEAcrossRanksTests: XCTestCase {
    private func freshRun(_ name: String) throws -> String { try LatentRunFixture.fresh(name) }

    private func arguments(_ run: String, steps: Int, lr: String?, extra: [String] = []) -> [String] {
        LatentRunFixture.trainArguments(run, model: .mlp, steps: steps, lr: lr, extra: extra)
    }

    private func train(ranks: Int, _ run: String, steps: Int = 20, lr: String? = "1e-6", extra: [String] = [],
                       file: StaticString = #filePath, line: UInt = #line) throws -> [ODEMetricsRecord] {
        let r = try MPILauncher.runUnderMPI(ranks: ranks, arguments(run, steps: steps, lr: lr, extra: extra), timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary, file: file, line: line)
        return try LatentRunFixture.metrics(run, .mlp)
    }

    private func parameters(_ run: String, file name: String = "checkpoint.safetensors", optimizer: Bool = false) throws -> [Float] {
        try LatentRunFixture.parameters(run, .mlp, file: name, optimizer: optimizer)
    }

    /// Global batch 16 of the ~450 train pairs: 20 steps stay inside the first epoch, whose padded last
    /// batch (DistributedSampler semantics) differs between rank counts by design.
    /// np = 1, 2, 4 at a learning rate small enough that 20 Adam steps stay in the rounding regime:
    /// the same loss at every step and the same parameters, to 1e-4 relative; np 2 twice: bit-identical.
    func testRankCountsGiveTheSameTrainingAndRepeatsAreBitIdentical() throws {
        let one = try freshRun("np1")
        let reference = try train(ranks: 1, one)
        XCTAssertEqual(reference.count, 20)
        let p1 = try parameters(one)
        for ranks in [2, 4] {
            let run = try freshRun("np\(ranks)")
            let m = try train(ranks: ranks, run)
            XCTAssertEqual(m.count, 20)
            LatentRunFixture.assertSameTraining(reference, p1, m, try parameters(run), "np \(ranks)")
            if ranks == 2 {
                let again = try freshRun("np2-again")
                let m2 = try train(ranks: 2, again)
                XCTAssertEqual(m2.map(\.loss), m.map(\.loss), "the same rank count twice: the same losses, bit for bit")
                XCTAssertEqual(try parameters(again, optimizer: true), try parameters(run, optimizer: true))
            }
        }
        // Validation loss every 5 steps and the selection recorded with its criterion.
        XCTAssertEqual(reference.filter { $0.validationLoss != nil }.map(\.step), [5, 10, 15, 20])
        let selection = try LatentRunFixture.selection(one, .mlp)
        XCTAssertEqual(selection.criterion, .validationLoss)
        let best = reference.compactMap { r in r.validationLoss.map { (r.step, $0) } }.min { $0.1 < $1.1 }!
        XCTAssertEqual(selection.step, best.0)
        XCTAssertEqual(selection.value, best.1, accuracy: 1e-12 * abs(best.1))
    }

    /// 10 + 10 resumed steps at the reference's decaying rate (over 20 steps) equal 20 in one go, bit
    /// for bit, at np 2: losses, parameters, Adam's moments and the selection.
    func testResumeContinuesBitForBit() throws {
        let whole = try freshRun("whole"), split = try freshRun("split")
        let decay = ["--lr-schedule", "exp:0.01:0.001:20"]
        let m20 = try train(ranks: 2, whole, lr: nil, extra: decay)
        _ = try train(ranks: 2, split, steps: 10, lr: nil, extra: decay)
        let r = try MPILauncher.runUnderMPI(ranks: 2, arguments(split, steps: 20, lr: nil, extra: decay + ["--resume"]), timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("resuming at step 10"), r.summary)
        let resumed = try LatentRunFixture.metrics(split, .mlp)
        XCTAssertEqual(resumed.map(\.step), Array(1...20), "the log reads as one run")
        XCTAssertEqual(resumed.map(\.loss), m20.map(\.loss))
        XCTAssertEqual(resumed.map(\.validationLoss), m20.map(\.validationLoss))
        XCTAssertEqual(try parameters(split, optimizer: true), try parameters(whole, optimizer: true))
        XCTAssertEqual(try parameters(split, file: "selected.safetensors"), try parameters(whole, file: "selected.safetensors"))
        XCTAssertGreaterThan(m20.first!.loss, m20.last!.loss, "at the reference's rate the loss falls")
    }

    /// A NaN gradient on one rank stops every rank at that step, naming the rank.
    func testNonFiniteGradientStopsEveryRank() throws {
        let run = try freshRun("nan")
        let r = try MPILauncher.runUnderMPI(ranks: 2, arguments(run, steps: 10, lr: "1e-3", extra: ["--debug-nan-rank", "1", "--debug-at-step", "3"]),
                                            timeout: 60)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        for rank in 0..<2 {
            XCTAssertTrue(r.stderr.contains("rank \(rank): step 3: non-finite gradient (on rank 1)"), r.summary)
        }
    }

    /// evaluate on 2 ranks writes the metrics 1 rank writes (ranks split the trajectories).
    func testEvaluateOnTwoRanksMatchesOne() throws {
        let run = try freshRun("eval")
        _ = try train(ranks: 1, run, steps: 5, lr: "1e-3")
        var metrics: [EvaluationMetrics] = []
        for ranks in [1, 2] {
            let out = run + "/eval-np\(ranks)"
            let r = try MPILauncher.runUnderMPI(ranks: ranks, ["evaluate", "--run", run, "--model", "mlp", "--out", out], timeout: 120)
            XCTAssertEqual(r.exitCode, 0, r.summary)
            metrics.append(try EvaluationMetrics.read(out + "/" + EvaluationMetrics.fileName))
            for figure in ["latents.png", "frames.png", "frame_mse.png", "vpt.png", "report.md"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + figure), "\(figure) written")
            }
        }
        XCTAssertEqual(metrics[0], metrics[1])
        XCTAssertEqual(Set(metrics[0].vpt.keys), ["0.0025", "0.005", "0.01"])
        XCTAssertNotNil(metrics[0].vptReverse)
        XCTAssertNotNil(metrics[0].interpolationMSE, "simulated pendulum frames can be rendered between frames")
    }
}
