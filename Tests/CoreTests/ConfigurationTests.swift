import Core
import Foundation
import XCTest

/// `Configuration.read` and the `ode` section's checks (docs/formats.md §Configuration file): a
/// partial file keeps the defaults, every error names the file and the dotted key, and the complete
/// file `cpae-mpi config` prints reads back as the same value.
final class ConfigurationTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-config-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ text: String, _ name: String = "config.json") throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The error `Configuration.read` throws for `text`, which must be a `JSONDecodingError` of that file.
    private func readError(_ text: String, file line: UInt = #line) throws -> JSONDecodingError {
        let path = try file(text)
        do {
            let c = try Configuration.read(file: path)
            XCTFail("read \(text) as \(c)", line: line)
            throw XCTSkip("no error")
        } catch let e as JSONDecodingError {
            XCTAssertEqual(e.file, path, line: line)
            XCTAssertTrue(e.description.contains(path), e.description, line: line)
            return e
        }
    }

    func testAPartialSectionKeepsTheDefaults() throws {
        var expected = LatentTrainingConfig()
        expected.model = .hnn
        expected.steps = 3
        expected.widths = [16]
        expected.globalBatch = 64
        let c = try Configuration.read(file: try file(#"{"ode": {"model": "hnn", "steps": 3, "widths": [16], "global-batch": 64}}"#))
        XCTAssertEqual(c.ode, expected)
        XCTAssertEqual(c.ode.evaluateEvery, 100)
        XCTAssertEqual(c.ode.lrSchedule, nil)
        XCTAssertEqual(try Configuration.read(file: try file("{}")), Configuration(), "an empty file: the defaults")
        XCTAssertEqual(try Configuration.read(file: try file(#" {"ode": {}} "#)), Configuration(), "an empty section: the defaults")
        // null unsets an optional that the defaults set.
        XCTAssertNil(try Configuration.read(file: try file(#"{"ode": {"global-batch": null, "steps": null}}"#)).ode.globalBatch)
    }

    func testAnUnknownKeyIsNamedWithItsSectionAndTheKnownKeys() throws {
        let e = try readError(#"{"ode": {"model": "hnn", "stepz": 3}}"#)
        XCTAssertEqual(e.field, "ode.stepz")
        XCTAssertTrue(e.problem.contains("unknown key") && e.problem.contains(LatentTrainingConfig.keys.joined(separator: ", ")), e.problem)
        // Two unknown keys: always the same one (sorted) reported.
        XCTAssertEqual(try readError(#"{"ode": {"zeta": 1, "alpha": 2}}"#).field, "ode.alpha")
        // An unknown section.
        let top = try readError(#"{"odee": {"steps": 3}}"#)
        XCTAssertEqual(top.field, "odee")
        XCTAssertTrue(top.problem.contains("keys are " + Configuration.keys.joined(separator: ", ")), top.problem)
    }

    func testAWrongTypeNamesTheKey() throws {
        let cases: [(json: String, field: String, problem: String)] = [
            (#"{"ode": {"steps": "3"}}"#, "ode.steps", "expected an integer, found a string"),
            (#"{"ode": {"steps": 1.5}}"#, "ode.steps", "expected an integer, found 1.5"),
            (#"{"ode": {"seed": -1}}"#, "ode.seed", "expected a non-negative integer, found -1"),
            (#"{"ode": {"model": "rnn"}}"#, "ode.model", #"expected one of mlp, hnn, sympnet, found "rnn""#),
            (#"{"ode": {"method": "euler"}}"#, "ode.method", "expected one of "),
            (#"{"ode": {"widths": 32}}"#, "ode.widths", "expected an array"),
            (#"{"ode": {"model": null}}"#, "ode.model", "found null"),
            (#"{"ode": {"frame-step": true}}"#, "ode.frame-step", "expected a number"),
        ]
        for (json, field, problem) in cases {
            let e = try readError(json)
            XCTAssertEqual(e.field, field, json)
            XCTAssertTrue(e.problem.contains(problem), "\(json): \(e.problem)")
        }
        let section = try readError(#"{"ode": 3}"#)
        XCTAssertEqual(section.field, "ode")
    }

    func testARepeatedKeyIsAnError() throws {
        for (json, key) in [(#"{"ode": {"steps": 3, "model": "hnn", "steps": 4}}"#, "steps"), (#"{"ode": {}, "ode": {"steps": 2}}"#, "ode")] {
            let e = try readError(json)
            XCTAssertTrue(e.problem.contains("duplicate key \"\(key)\""), "\(json): \(e.problem)")
        }
    }

    func testBrokenJSONAndAMissingFileNameTheFile() throws {
        let e = try readError(#"{"ode": {"steps": 3,}}"#)
        XCTAssertNil(e.field)
        XCTAssertTrue(e.problem.contains("invalid JSON at byte"), e.problem)
        let missing = directory + "/no-such.json"
        XCTAssertThrowsError(try Configuration.read(file: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
        }
    }

    /// Every out-of-range value is reported, each with its key (and flag), in one error naming the file.
    func testEveryOutOfRangeValueIsReportedWithItsKey() throws {
        let path = try file("""
            {"ode": {"steps": 0, "global-batch": 0, "widths": [32, 0], "sympnet-layers": 0, "sympnet-sublayers": 0,
                     "frame-step": -0.01, "substeps": 0, "rollout-steps": 0, "lr-schedule": "fast", "weight-decay": -1,
                     "checkpoint-every": -1, "evaluate-every": 0, "progress-seconds": 0, "collective-timeout": -1}}
            """)
        let c = try Configuration.read(file: path)
        XCTAssertEqual(c.ode.steps, 0, "reading does not judge ranges; the command's check does, after its flags")
        XCTAssertThrowsError(try c.ode.check(section: "ode", file: path)) { error in
            guard let e = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.file, path)
            let keys = ["steps", "global-batch", "widths", "sympnet-layers", "sympnet-sublayers", "frame-step", "substeps",
                        "rollout-steps", "lr-schedule", "weight-decay", "checkpoint-every", "evaluate-every", "progress-seconds",
                        "collective-timeout"]
            XCTAssertEqual(Set(e.problems.map(\.key)), Set(keys.map { "ode." + $0 }))
            XCTAssertEqual(e.problems.count, keys.count, "one problem per key: \(e.problems)")
            for key in keys {
                XCTAssertTrue(e.description.contains("key ode.\(key): "), "\(key) in \(e.description)")
            }
            XCTAssertTrue(e.description.hasPrefix("configuration \(path): "), e.description)
            XCTAssertTrue(e.description.contains("key ode.steps: must be ≥ 1 (got 0)"), e.description)
        }
    }

    func testTheRunsLengthIsRequiredOnceAndOnlyOnce() throws {
        var c = LatentTrainingConfig()
        XCTAssertEqual(c.problems().map(\.key), ["steps"], "neither steps nor epochs")
        XCTAssertEqual(c.problems(requiringLength: false), [], "a file may leave the length to the flags")
        c.steps = 10
        XCTAssertEqual(c.problems(), [])
        XCTAssertNoThrow(try c.check(section: "ode", file: nil))
        c.epochs = 2
        XCTAssertEqual(c.problems().map(\.key), ["steps"], "both")
        XCTAssertEqual(c.problems(requiringLength: false).map(\.key), ["steps"], "both, even without a required length")
        XCTAssertThrowsError(try c.check(section: "ode", file: nil)) { error in
            XCTAssertTrue("\(error)".hasPrefix("configuration: key ode.steps: give steps or epochs, not both"), "\(error)")
        }
    }

    /// `Configuration().json()` (what `cpae-mpi config` prints) holds every key once and reads back as
    /// the defaults; a configuration with every knob changed reads back unchanged too, so no field is
    /// missing from `fields` in either direction.
    func testTheCompleteFileReadsBackAsTheSameValue() throws {
        let text = try Configuration().json()
        let tree = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(Set(tree.keys), Set(Configuration.keys))
        let sections: [(String, [String])] = [("data", DataConfig.keys), ("train", AutoencoderTrainingConfig.keys),
                                              ("encode", EncodeConfig.keys), ("ode", LatentTrainingConfig.keys),
                                              ("evaluate", EvaluateConfig.keys), ("circle", CircleConfig.keys)]
        for (name, keys) in sections {
            let section = try XCTUnwrap(tree[name] as? [String: Any], name)
            XCTAssertEqual(Set(section.keys), Set(keys), name)
            XCTAssertEqual(Set(keys).count, keys.count, "\(name): every key once")
        }
        XCTAssertTrue((tree["ode"] as? [String: Any])?["steps"] is NSNull, "an unset optional is written as null")
        XCTAssertEqual(try Configuration.read(file: try file(text)), Configuration())

        var changed = Configuration()
        changed.ode.model = .sympnet
        changed.ode.widths = [8, 16, 8]
        changed.ode.sympnetLayers = 5
        changed.ode.sympnetSublayers = 4
        changed.ode.frameStep = 0.02
        changed.ode.method = .rk4
        changed.ode.substeps = 3
        changed.ode.rolloutSteps = 4
        changed.ode.globalBatch = 640
        changed.ode.epochs = 7
        changed.ode.seed = 12_345_678_901
        changed.ode.lrSchedule = "step:0.01:0.5:100,200"
        changed.ode.weightDecay = 1e-4
        changed.ode.checkpointEvery = 50
        changed.ode.evaluateEvery = 25
        changed.ode.select = .trainLoss
        changed.ode.onNaN = .skip
        changed.ode.progressSeconds = 2.5
        changed.models = [.l2, .cpae]
        changed.data.dir = "somewhere"; changed.data.system = .doublePendulum; changed.data.trajectories = 9
        changed.train.preset = .paper; changed.train.objective = .reconstruction; changed.train.widths = [4, 8, 16]
        changed.train.epochs = nil; changed.train.steps = 11; changed.train.perRankBatchnorm = true
        changed.encode.batch = 7; changed.evaluate.split = .validation; changed.evaluate.trajectories = 3
        changed.ode.collectiveTimeout = 0
        changed.ode.deterministic = true; changed.train.deterministic = true
        changed.ode.deterministicUnit = 4; changed.train.deterministicUnit = 2
        // Each key's value, to see that this test changes every one but steps.
        func values(_ json: String) throws -> [String: JSONValue] {
            guard case .object(let top) = try JSONValue.parse(json), case .object(let ode)? = top.first(where: { $0.key == "ode" })?.value else {
                throw XCTSkip("not a configuration: \(json)")
            }
            return Dictionary(uniqueKeysWithValues: ode.map { ($0.key, $0.value) })
        }
        let defaults = try values(text), written = try values(try changed.json())
        for key in LatentTrainingConfig.keys where key != "steps" {
            XCTAssertNotEqual(defaults[key], written[key], "ode.\(key) is changed in this test")
        }
        let back = try Configuration.read(file: try file(try changed.json(), "changed.json"))
        XCTAssertEqual(back, changed)
        XCTAssertEqual(try back.json(), try changed.json())
    }

    /// `sweep`'s one key over a configuration: numbers, lists and plain strings; a wrong key or type
    /// named with the value that carried it.
    func testSettingOneKeyNamesItsMistakes() throws {
        let base = PipelinePreset.default.configuration()
        XCTAssertEqual(try base.setting("train.kernel", to: "4").train.kernel, 4)
        XCTAssertEqual(try base.setting("train.penalty-weight", to: "0.01").train.penaltyWeight, 0.01)
        XCTAssertEqual(try base.setting("ode.lr-schedule", to: "exp:0.01:0.001:300").ode.lrSchedule, "exp:0.01:0.001:300", "not JSON: a string")
        XCTAssertEqual(try base.setting("models", to: #"["cpae", "large-ae"]"#).models, [.cpae, .largeAE])
        let changed = try base.setting("data.frames", to: "20")
        XCTAssertEqual(changed.data.frames, 20)
        XCTAssertEqual(try changed.differences(from: base), ["data.frames: 60 → 20"], "only that key changes")
        XCTAssertThrowsError(try base.setting("train.kernal", to: "4")) { error in
            XCTAssertTrue("\(error)".contains("train.kernal=4") && "\(error)".contains("kernal"), "\(error)")
        }
        XCTAssertThrowsError(try base.setting("train.kernel", to: "[4]")) { error in
            XCTAssertTrue("\(error)".contains("train.kernel"), "\(error)")
        }
        XCTAssertThrowsError(try base.setting("train..kernel", to: "4"))
    }

    /// The circle system is its own ablation: its plan, its section's checks, and no dataset directory.
    func testTheCirclePresetPlansOneStagePerModel() throws {
        let c = PipelinePreset.circle.configuration(system: .pendulum)
        XCTAssertEqual(c.data.system, .circle)
        XCTAssertTrue(c.isCircleAblation)
        XCTAssertNoThrow(try c.check(file: nil))
        XCTAssertEqual(PipelineStage.plan(c).map(\.name), ["circle cpae", "circle ae", "circle l2", "report"])
        var bad = c
        bad.circle.restarts = 0
        bad.circle.iterations = 0
        bad.data.dir = "frames"
        bad.ode.steps = 0   // an unused section is not judged
        XCTAssertThrowsError(try bad.check(file: nil)) { error in
            guard let e = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(Set(e.problems.map(\.key)), ["circle.restarts", "circle.iterations", "data.dir"], "\(e)")
        }
        var pendulum = PipelinePreset.default.configuration()
        pendulum.train.preset = .circle
        XCTAssertThrowsError(try pendulum.check(file: nil)) { error in
            XCTAssertTrue("\(error)".contains("key train.preset") && "\(error)".contains("data.system"), "\(error)")
        }
    }
}
