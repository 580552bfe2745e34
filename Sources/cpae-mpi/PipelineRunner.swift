import ArgumentParser
import Core
import Distributed
import Foundation

/// Runs one configuration's pipeline in a run directory on the current ranks: each stage is the
/// stage's own command run in this process (so its checks, progress lines and failure handling are
/// the ones a user gets when running it alone), with arguments made from the configuration's
/// section for it. `run` runs one; `sweep` runs one per point, each on its rank group.
struct PipelineRunner {
    var configuration: Configuration
    var directory: String
    /// The dataset directory came from --data (a missing one is then an error, not simulated).
    var dataFromFlag = false
    /// Print the comparison table to stdout at the end (rank 0).
    var printsHeadline = true

    func run(_ comm: Communicator) throws {
        let c = configuration
        let json = try c.json()
        try comm.agree(on: SHA256.prefix64(json), what: "pipeline configuration")
        var state = PipelineState()
        if comm.isRoot {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Self.keepOrCheck(configuration: c, in: directory)
            state = try PipelineState.read(directory: directory)
        }
        state = try JSONCoding.decode(PipelineState.self, from: Array(comm.broadcast(JSONCoding.string(state)).utf8), file: "pipeline state from rank 0")

        let dataDirectory = c.data.dir ?? directory + "/data"
        let stages = PipelineStage.plan(c)
        let clock = Stopwatch()
        if comm.isRoot {
            let done = stages.filter(state.isComplete).count
            log("cpae-mpi run: \(stages.count) stages (\(done) already done) on \(comm.size) rank(s) → \(directory)")
        }
        for (k, stage) in stages.enumerated() where !state.isComplete(stage) {
            if comm.isRoot {
                let remaining = Array(stages[k...].filter { !state.isComplete($0) })
                let eta = state.estimatedSeconds(remaining: remaining).map { "ETA \(Self.clock($0))" } ?? "ETA after the first model's stages"
                log("cpae-mpi run: stage \(k + 1)/\(stages.count) \(stage.name) — elapsed \(Self.clock(clock.seconds)), \(eta)")
            }
            let started = Stopwatch()
            try run(stage, c, directory: directory, data: dataDirectory, comm)
            _ = try comm.idleBarrier()
            state.complete(stage, seconds: started.seconds)
            if comm.isRoot { try state.write(directory: directory) }
        }
        if comm.isRoot {
            let figures = c.isCircleAblation ? "circle_latents.png, circle_frames.png, frame_mse.png" : "vpt.png, frame_mse.png"
            log("cpae-mpi run: done in \(Self.clock(clock.seconds)) → \(directory)/report.md, summary.json, \(figures)")
            if printsHeadline { print(try Self.headline(directory: directory, circle: c.isCircleAblation), terminator: "") }
        }
    }

    private func run(_ stage: PipelineStage, _ c: Configuration, directory: String, data: String, _ comm: Communicator) throws {
        let fm = FileManager.default
        func modelDirectory(_ m: ModelVariant) -> String { directory + "/" + m.rawValue }
        switch stage {
        case .data:
            let present = fm.fileExists(atPath: data + "/manifest.json")
            if !present, c.data.dir != nil, dataFromFlag {
                throw UserError("--data \(data) holds no dataset (no manifest.json); give a directory made by generate or ingest")
            }
            try Self.simulateIfMissing(c.data, into: data, comm: comm)
        case .trainAutoencoder(let m):
            let height = try DatasetReader(directory: data).description.height
            var args = ["--data", data, "--out", modelDirectory(m), "--size", "\(height)"] + m.arguments + c.train.arguments
            if fm.fileExists(atPath: RunDirectory(modelDirectory(m)).checkpoint) { args.append("--resume") }
            try Self.invoke(TrainAECommand.self, args, stage)
        case .encode(let m):
            try Self.invoke(EncodeCommand.self, ["--run", modelDirectory(m), "--data", data, "--overwrite"] + c.encode.arguments, stage)
        case .trainLatentModel(let m):
            var args = ["--run", modelDirectory(m)] + c.ode.arguments
            if fm.fileExists(atPath: RunDirectory(modelDirectory(m) + "/ode/" + c.ode.model.rawValue).checkpoint) { args.append("--resume") }
            try Self.invoke(TrainODECommand.self, args, stage)
        case .evaluate(let m):
            try Self.invoke(EvaluateCommand.self, ["--run", modelDirectory(m), "--data", data, "--model", c.ode.model.rawValue,
                                              "--name", m.title] + c.evaluate.arguments, stage)
        case .circle(let m):
            try CircleStage.run(m, c.circle, directory: directory, comm: comm)
        case .report where c.isCircleAblation:
            if comm.isRoot {
                try CircleReport.write(directory: directory, configuration: c, ranks: comm.size,
                                       runs: c.models.map { ($0, try CircleStage.restarts($0, directory: directory)) },
                                       state: try PipelineState.read(directory: directory))
            }
        case .report:
            if comm.isRoot {
                let evaluations = try c.models.map { m -> (model: ModelVariant, runDirectory: String, evaluationDirectory: String, metrics: EvaluationMetrics) in
                    let e = modelDirectory(m) + "/ode/" + c.ode.model.rawValue + "/evaluation"
                    return (m, modelDirectory(m), e, try EvaluationMetrics.read(e + "/" + EvaluationMetrics.fileName))
                }
                try PipelineReport.write(directory: directory, configuration: c, dataset: data, ranks: comm.size,
                                         evaluations: evaluations, state: try PipelineState.read(directory: directory))
            }
        }
    }

    /// The `data` stage: every rank runs `generate` into `directory` unless a dataset is there (it
    /// shares the shards out and rank 0 writes the manifest, docs/distributed.md §Data preparation).
    static func simulateIfMissing(_ data: DataConfig, into directory: String, comm: Communicator) throws {
        // One decision for all ranks (generate is collective): simulate if any rank lacks the manifest.
        let missing = FileManager.default.fileExists(atPath: directory + "/manifest.json") ? 0 : 1
        if try comm.allreduce(missing, .max) == 1 {
            try invoke(GenerateCommand.self, ["--out", directory] + data.arguments, .data)
        }
    }

    /// Runs a stage's command with `arguments` in this process (its own parsing and checks).
    private static func invoke<C: ParsableCommand>(_ command: C.Type, _ arguments: [String], _ stage: PipelineStage) throws {
        var parsed: C
        do { parsed = try C.parse(arguments) } catch {
            throw UserError("stage \(stage.name): \(C.message(for: error)) (arguments: \(arguments.joined(separator: " ")))")
        }
        try parsed.run()
    }

    /// Writes config.json on the first run; later runs must bring the same configuration, since
    /// the finished stages were made with it.
    private static func keepOrCheck(configuration c: Configuration, in directory: String) throws {
        let path = directory + "/config.json"
        if FileManager.default.fileExists(atPath: path) {
            let differing = try c.differences(from: Configuration.read(file: path))
            guard differing.isEmpty else {
                throw UserError("\(directory) was started with another configuration (\(path)): \(differing.prefix(4).joined(separator: "; "))\(differing.count > 4 ? "; …" : ""). Give a new --out, or delete \(directory) to start over")
            }
        } else {
            try AtomicFile.write(Array(c.json().utf8), to: path)
        }
    }

    /// The comparison in a few lines for the terminal, from the summary.json of the report stage
    /// (of this invocation or an earlier one).
    private static func headline(directory: String, circle: Bool) throws -> String {
        let (path, bytes) = try summaryBytes(directory: directory)
        return circle ? CircleReport.headline(try JSONCoding.decode(CircleReport.Summary.self, from: bytes, file: path))
                      : PipelineReport.headline(try JSONCoding.decode(PipelineReport.Summary.self, from: bytes, file: path))
    }

    /// A finished pipeline's summary.json (of the trajectory pipeline).
    static func summary(directory: String) throws -> PipelineReport.Summary {
        let (path, bytes) = try summaryBytes(directory: directory)
        return try JSONCoding.decode(PipelineReport.Summary.self, from: bytes, file: path)
    }

    private static func summaryBytes(directory: String) throws -> (String, [UInt8]) {
        let path = directory + "/" + PipelineReport.summaryFileName
        let file = try FileReader(path: path, ifDamaged: "delete \(path) and the \"report\" entry of pipeline.json to write it again")
        return (path, try file.read(count: file.size, at: 0))
    }

    private static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
