import Core
import Foundation
import TestLauncher
import XCTest

/// The autoencoder run with latents that the phase-2 command tests (`train-ode`, `evaluate`) start
/// from, and what they read back: a tiny pendulum dataset (32 trajectories × 20 frames, 1×32×32), a
/// 3-step small autoencoder (d = 2) and `encode`, made once per test process and shared by every
/// test class that uses it.
enum LatentRunFixture {
    static let run: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-ode-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        for args in [["generate", "--system", "pendulum", "--trajectories", "32", "--frames", "20", "--size", "32",
                      "--channels", "1", "--seed", "3", "--out", dir + "/data", "--quiet"],
                     // --bn-recalibration 0: the phase-2 tests need some latent trajectories, not a good
                     // autoencoder, and were tuned on these (the moving averages after 3 steps); with this
                     // 3-step model's statistics re-estimated, the latents differ and the resume test's
                     // 20 steps at the reference's rate rose (loss 753 → 2016) instead of falling.
                     ["train-ae", "--data", dir + "/data", "--preset", "small", "--global-batch", "16", "--steps", "3",
                      "--seed", "7", "--out", dir + "/ae", "--progress-seconds", "1000", "--bn-recalibration", "0"],
                     ["encode", "--run", dir + "/ae"]] {
            let r = try! MPILauncher.runSingleton(args, timeout: 120)
            precondition(r.exitCode == 0, r.summary)
        }
        return dir + "/ae"
    }()

    /// A copy of the autoencoder run (its latents included) per training, so runs do not share ode/.
    static func fresh(_ name: String) throws -> String {
        let path = run + "-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: run, toPath: path)
        return path
    }

    /// `train-ode` on `run` with small widths (the MLP's layers; H's width for hnn; sympnet has
    /// none), global batch 16 of the ~450 train pairs (29 steps per epoch), validation every 5 steps,
    /// and `lr` as a constant rate (nil: the schedule comes from `extra` or the default).
    static func trainArguments(_ run: String, model: LatentModelConfig.Kind, steps: Int, lr: String?, batch: Int = 16,
                               extra: [String] = []) -> [String] {
        ["train-ode", "--run", run, "--model", model.rawValue, "--widths", "32,32", "--global-batch", "\(batch)",
         "--steps", "\(steps)", "--seed", "5", "--evaluate-every", "5", "--progress-seconds", "1000"]
            + (lr.map { ["--lr-schedule", "constant:\($0)"] } ?? []) + extra
    }

    /// RUN/ode/<model>/.
    static func directory(_ run: String, _ model: LatentModelConfig.Kind) -> String { run + "/ode/" + model.rawValue }

    static func metrics(_ run: String, _ model: LatentModelConfig.Kind) throws -> [ODEMetricsRecord] {
        try JSONLines.read(ODEMetricsRecord.self, from: directory(run, model) + "/metrics.jsonl")
    }

    static func configuration(_ run: String, _ model: LatentModelConfig.Kind) throws -> ODERunConfiguration {
        try JSONDecoder().decode(ODERunConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: directory(run, model) + "/config.json")))
    }

    static func selection(_ run: String, _ model: LatentModelConfig.Kind) throws -> SelectionRecord {
        try JSONDecoder().decode(SelectionRecord.self, from: Data(contentsOf: URL(fileURLWithPath: directory(run, model) + "/selection.json")))
    }

    /// The f32 tensors of RUN/ode/<model>/<file>, by sorted name: the model's parameters, and
    /// Adam's moments too when `optimizer`.
    static func parameters(_ run: String, _ model: LatentModelConfig.Kind, file name: String = "checkpoint.safetensors",
                           optimizer: Bool = false) throws -> [Float] {
        let f = try SafeTensorsFile.read(directory(run, model) + "/" + name)
        return try f.names.sorted().filter { optimizer || !$0.hasPrefix("optimizer.") }
            .filter { f.entry(named: $0)?.dtype == .f32 }.flatMap { try f.floats($0) }
    }

    /// The tolerance of "the same training at another rank count": at a learning rate small enough
    /// that the Adam steps stay in the rounding regime (1e-6 over 20 steps), the ranks' different
    /// summation order of the gradient moves every loss and the parameters by float rounding only,
    /// far below this relative bound; a real difference (another batch, a missed allreduce) is
    /// orders of magnitude above it.
    static let rankTolerance = 1e-4

    /// Asserts `other` is the training of `reference` at another rank count: the same steps, the same
    /// loss at every step and the same parameters, each to `rankTolerance` relative.
    static func assertSameTraining(_ reference: [ODEMetricsRecord], _ referenceParameters: [Float],
                                   _ other: [ODEMetricsRecord], _ otherParameters: [Float], _ what: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(other.map(\.step), reference.map(\.step), what, file: file, line: line)
        for (a, b) in zip(reference, other) {
            XCTAssertEqual(a.loss, b.loss, accuracy: rankTolerance * a.loss, "\(what), step \(a.step)", file: file, line: line)
        }
        XCTAssertEqual(otherParameters.count, referenceParameters.count, "\(what): parameter count", file: file, line: line)
        let diff = zip(referenceParameters, otherParameters).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +).squareRoot()
        let size = referenceParameters.map { Double($0) * Double($0) }.reduce(0, +).squareRoot()
        XCTAssertLessThan(diff / size, rankTolerance, "\(what): parameters", file: file, line: line)
    }
}
