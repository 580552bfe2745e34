import XCTest
import Foundation
@testable import Core

/// Re-estimating BatchNorm's running statistics at the final weights (docs/method.md §BatchNorm):
/// an equal-weight average of the batches' statistics that forgets what was there, touches no
/// parameter, and gives a finished run's last checkpoint the same bytes whether it was done at the
/// end of training or later by resuming the finished run.
final class BatchNormRecalibrationTests: XCTestCase {
    private let config = ModelConfig(architecture: .cpae, channels: 1, height: 16, latent: 2, kernel: 4, widths: [3, 3, 4],
                                     decoderWidths: [3, 3], penalty: .continuity, penaltyWeight: 1, objective: .reconstruction)

    private func randomPairs(_ n: Int, seed: UInt64) -> Tensor {
        var rng = RNG(seed: seed)
        let t = Tensor(uninitialized: [n] + config.inputShape)
        for i in 0..<t.count { t.data[i] = rng.uniformFloat() }
        return t
    }

    private func buffers(_ m: Autoencoder) -> [Float] { Array(UnsafeBufferPointer(start: m.store.bufferValues, count: m.store.bufferCount)) }
    private func parameters(_ m: Autoencoder) -> [Float] { Array(UnsafeBufferPointer(start: m.store.values, count: m.store.parameterCount)) }

    /// Running mean and variance entries of every BatchNorm (num_batches_tracked left out).
    private func statistics(_ m: Autoencoder) -> [Float] {
        m.store.buffers.filter { $0.name.hasSuffix("running_mean") || $0.name.hasSuffix("running_var") }
            .flatMap { e in Array(UnsafeBufferPointer(start: m.store.bufferValues + e.offset, count: e.count)) }
    }

    func testTheStatisticsAreTheEqualWeightAverageOfTheBatchesAndForgetThePast() throws {
        let batches = (0..<3).map { randomPairs(6, seed: 10 + UInt64($0)) }
        // Each batch alone: its own statistics (momentum 1 on the only batch).
        var single: [[Float]] = []
        for b in batches {
            let m = try Autoencoder(config: config, seed: 1)
            m.recalibrateBatchNorm(count: 1) { b }
            single.append(statistics(m))
        }
        XCTAssertNotEqual(single[0], single[1], "different batches have different statistics")

        let m = try Autoencoder(config: config, seed: 1)
        // Whatever the moving averages held is forgotten.
        for i in 0..<m.store.bufferCount { m.store.bufferValues[i] = 7 }
        let before = parameters(m)
        var next = 0
        m.recalibrateBatchNorm(count: 3) { defer { next += 1 }; return batches[next] }
        let averaged = statistics(m)
        for i in averaged.indices {
            let mean = (Double(single[0][i]) + Double(single[1][i]) + Double(single[2][i])) / 3
            // Three Float updates of a running value: a few ulps of the largest term.
            let tolerance = 8 * Double(Float.ulpOfOne) * max(abs(mean), Double(single.map { abs($0[i]) }.max()!))
            XCTAssertEqual(Double(averaged[i]), mean, accuracy: tolerance, "statistic \(i)")
        }
        XCTAssertEqual(parameters(m), before, "no parameter changes")
        // The training momentum is back: one more training forward moves the statistics by 0.1 of the way.
        let x = randomPairs(6, seed: 99)
        let oldMean = statistics(m)
        let target = try Autoencoder(config: config, seed: 1)
        target.recalibrateBatchNorm(count: 1) { x }
        _ = m.decode(m.encode(x, mode: .train), mode: .train)
        let moved = statistics(m), batchStatistics = statistics(target)
        for i in moved.indices {
            let expected = 0.9 * Double(oldMean[i]) + 0.1 * Double(batchStatistics[i])
            XCTAssertEqual(Double(moved[i]), expected, accuracy: 1e-5 * max(1, abs(expected)), "statistic \(i) after a training forward")
        }
    }

    /// Trains (or resumes) a run in `directory`; returns what it printed.
    @discardableResult
    private func run(directory: String, steps: Int, recalibration: Int?, resume: Bool) throws -> [String] {
        let inputs = randomPairs(24, seed: 5)
        let settings = TrainerSettings(globalBatch: 8, steps: steps, checkpointEvery: 2, seed: 3, batchNormRecalibration: recalibration)
        let model = try Autoencoder(config: config, seed: 3)
        let source = InMemoryBatchSource(inputs: inputs, rank: 0, worldSize: 1, localBatch: 8, seed: 3)
        let trainer = try AutoencoderTrainer(model: model, group: SingleProcess(), source: source, settings: settings)
        let run = TrainingRun(directory: RunDirectory(directory),
                              configuration: RunConfiguration(model: config, trainer: settings, data: "memory", dataFingerprint: "x", ranks: 1),
                              trainer: trainer)
        var lines: [String] = []
        run.console = { lines.append($0) }
        try run.run(resume: resume)
        return lines
    }

    private func checkpointBytes(_ directory: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/checkpoint.safetensors")))
    }

    private func runningStatistics(_ directory: String) throws -> [Float] {
        let (m, _) = try Autoencoder.load(checkpoint: directory + "/checkpoint.safetensors")
        return statistics(m)
    }

    func testAFinishedRunResumedLaterGetsTheSameLastCheckpoint() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-bnrecal-\(getpid())-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let atTheEnd = base + "/at-the-end", later = base + "/later"
        try run(directory: atTheEnd, steps: 6, recalibration: 3, resume: false)
        try run(directory: later, steps: 6, recalibration: nil, resume: false)
        XCTAssertNotEqual(try runningStatistics(atTheEnd), try runningStatistics(later), "the moving averages are not the re-estimated statistics")
        // Resuming the finished run with recalibration asked for: nothing to train, statistics re-estimated.
        let first = try run(directory: later, steps: 6, recalibration: 3, resume: true)
        XCTAssertTrue(first.contains { $0.hasPrefix("re-estimating BatchNorm statistics") }, "\(first)")
        XCTAssertEqual(try checkpointBytes(later), try checkpointBytes(atTheEnd), "the same bytes as recalibrating at the end")
        // Asked again, it is not done twice: the checkpoint records it.
        let again = try run(directory: later, steps: 6, recalibration: 3, resume: true)
        XCTAssertFalse(again.contains { $0.hasPrefix("re-estimating") }, "\(again)")
        XCTAssertEqual(try checkpointBytes(later), try checkpointBytes(atTheEnd))
    }
}
