import Core
import Foundation
import TestLauncher
import XCTest

/// `train-ode --config FILE` and `cpae-mpi config`: the file's `ode` section chooses the model and
/// the length, a flag overrides the file, and a bad file stops the command before any training
/// output, naming the key.
final class TrainODEConfigFileTests: XCTestCase {
    private func write(_ text: String, _ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-config-\(getpid())-\(name)-\(UUID().uuidString.prefix(8)).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The flags every run here shares; the model and the length come from the file unless given.
    private func arguments(_ run: String, config: String, extra: [String] = []) -> [String] {
        ["train-ode", "--run", run, "--config", config, "--widths", "32", "--global-batch", "16", "--progress-seconds", "1000"] + extra
    }

    func testTheFileChoosesTheModelAndTheLengthAndAFlagOverridesIt() throws {
        let file = try write(#"{"ode": {"model": "hnn", "steps": 3}}"#, "hnn")
        for (ranks, extra, steps) in [(1, [String](), 3), (2, ["--steps", "2"], 2)] {
            let run = try LatentRunFixture.fresh("config-np\(ranks)")
            let r = try MPILauncher.runUnderMPI(ranks: ranks, arguments(run, config: file, extra: extra), timeout: 120)
            XCTAssertEqual(r.exitCode, 0, r.summary)
            XCTAssertTrue(r.stderr.contains("training hnn on") && r.stderr.contains("\(steps) steps"), r.summary)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/ode/mlp"), "the file's model, not the default mlp")
            let config = try LatentRunFixture.configuration(run, .hnn)
            XCTAssertEqual(config.model.kind, .hnn)
            XCTAssertEqual(config.model.hiddenWidths, [32], "a flag the file does not give")
            XCTAssertEqual(config.trainer.steps, steps, extra.isEmpty ? "the file's length" : "--steps 2 overrides the file's 3")
            XCTAssertEqual(config.trainer.schedule, "exp:0.01:0.001:\(steps)", "the default schedule decays over the run's length")
            XCTAssertEqual(config.evaluateEvery, LatentTrainingConfig().evaluateEvery, "keys the file leaves out keep their defaults")
            XCTAssertEqual(try LatentRunFixture.metrics(run, .hnn).map(\.step), Array(1...steps))
        }
    }

    /// A length on the command line replaces the file's whichever kind it is: `--epochs 1` over the
    /// file's `steps` trains one epoch (29 steps of 16 of the 450 train pairs).
    func testEpochsOnTheCommandLineReplaceTheFilesSteps() throws {
        let file = try write(#"{"ode": {"model": "sympnet", "steps": 3, "evaluate-every": 10}}"#, "epochs")
        let run = try LatentRunFixture.fresh("config-epochs")
        let r = try MPILauncher.runSingleton(arguments(run, config: file, extra: ["--epochs", "1"]), timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        XCTAssertEqual(try LatentRunFixture.configuration(run, .sympnet).trainer.steps, 29)
        let m = try LatentRunFixture.metrics(run, .sympnet)
        XCTAssertEqual(m.count, 29)
        XCTAssertEqual(m.compactMap { $0.validationLoss == nil ? nil : $0.step }, [10, 20, 29], "the file's evaluate-every, and the last step")
    }

    /// An unknown key (1 rank) and out-of-range values (2 ranks, every rank reading the file): a
    /// non-zero exit, the file and each key named, and nothing trained or written.
    func testABadFileStopsBeforeAnyTrainingNamingTheKey() throws {
        let unknown = try write(#"{"ode": {"model": "hnn", "stepz": 3}}"#, "unknown")
        let ranges = try write(#"{"ode": {"steps": 0, "substeps": 0, "frame-step": -1, "lr-schedule": "fast"}}"#, "ranges")
        let wrongType = try write(#"{"ode": {"steps": "3"}}"#, "type")
        let cases: [(file: String, ranks: Int, expected: [String])] = [
            (unknown, 1, ["field ode.stepz: unknown key", "steps, seed"]),
            (ranges, 2, ["key ode.steps: must be ≥ 1 (got 0)", "key ode.substeps: must be ≥ 1 (got 0)",
                         "key ode.frame-step: must be a positive number", "key ode.lr-schedule: "]),
            (wrongType, 1, ["field ode.steps: expected an integer, found a string"]),
        ]
        for (file, ranks, expected) in cases {
            let run = try LatentRunFixture.fresh("config-bad")
            let r = try MPILauncher.runUnderMPI(ranks: ranks, arguments(run, config: file), timeout: 60)
            XCTAssertNotEqual(r.exitCode, 0, r.summary)
            XCTAssertFalse(r.timedOut, r.summary)
            XCTAssertTrue(r.stderr.contains(file), "the file is named: \(r.summary)")
            for text in expected { XCTAssertTrue(r.stderr.contains(text), "'\(text)' in \(r.summary)") }
            for output in ["rank(s), ", "training ", "iteration "] {
                XCTAssertFalse(r.stderr.contains(output) || r.stdout.contains(output), "no training output ('\(output)'): \(r.summary)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/ode"), "nothing written: \(r.summary)")
        }
    }

    /// `cpae-mpi config` prints a complete file (every key of every section, the default preset's
    /// values) that `config --check` accepts and that train-ode runs with a length flag overriding it; `config --check` names every problem of a bad file; each key is a train-ode flag.
    func testConfigPrintsACompleteFileThatChecksAndTrains() throws {
        let printed = try MPILauncher.runSingleton(["config"])
        XCTAssertEqual(printed.exitCode, 0, printed.summary)
        let file = try write(printed.stdout, "printed")
        XCTAssertEqual(try Configuration.read(file: file), PipelinePreset.default.configuration(), "the printed file is the default preset")
        let sections = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(printed.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(Set(sections.keys), Set(Configuration.keys))
        XCTAssertEqual(Set(try XCTUnwrap(sections["ode"] as? [String: Any]).keys), Set(LatentTrainingConfig.keys), "every key, unset optionals as null")

        let checked = try MPILauncher.runSingleton(["config", "--check", file])
        XCTAssertEqual(checked.exitCode, 0, checked.summary)
        XCTAssertEqual(checked.stdout, printed.stdout)

        let bad = try write(#"{"ode": {"substeps": 0, "evaluate-every": 0, "steps": 2, "epochs": 1}}"#, "check")
        let refused = try MPILauncher.runSingleton(["config", "--check", bad])
        XCTAssertNotEqual(refused.exitCode, 0, refused.summary)
        for key in ["ode.substeps", "ode.evaluate-every", "key ode.steps: give steps or epochs, not both"] {
            XCTAssertTrue(refused.stderr.contains(key), "\(key) in \(refused.summary)")
        }

        let help = try MPILauncher.runSingleton(["train-ode", "--help"])
        for key in LatentTrainingConfig.keys {
            XCTAssertTrue(help.stdout.contains("--\(key) "), "ode.\(key) is spelled as train-ode's --\(key): \(help.summary)")
        }

        let run = try LatentRunFixture.fresh("config-printed")
        let r = try MPILauncher.runSingleton(arguments(run, config: file, extra: ["--steps", "2"]), timeout: 120)
        XCTAssertEqual(r.exitCode, 0, r.summary)
        XCTAssertEqual(try LatentRunFixture.metrics(run, .mlp).count, 2, "the printed defaults train the default model")
    }
}
