import ArgumentParser
import Core
import Distributed
import Foundation

/// The whole job in one command: data, every model's phase 1, latents, phase 2 and evaluation, and
/// the report over all of them. Each stage is the stage's own command run in this process on the
/// same ranks (so its checks, progress lines and failure handling are the ones a user gets when
/// running it alone), with arguments made from the configuration's section for it.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "The whole pipeline: simulate the data if needed, train the CpAE and the AE baseline, encode, train the latent models, evaluate, report.",
        discussion: """
            With no arguments (`cpae-mpi` alone is `cpae-mpi run`) it runs the built-in default: a small damped-pendulum \
            dataset, CpAE against AE, a Neural ODE on each one's latents, written to runs/default. The same command \
            runs on one rank or under mpirun/srun. Every stage's results sit in RUN/<model>/ (train-ae's run directory, \
            with latents/, ode/<model>/ and its evaluation/); the top level holds config.json (the configuration run), \
            pipeline.json (the stages done), report.md, summary.json, vpt.png and frame_mse.png.

            Run it again after an interruption: finished stages are skipped and the interrupted one resumes from its \
            last checkpoint. A configuration other than the one the directory was started with is an error.

              cpae-mpi                                        # the default, runs/default
              mpirun --oversubscribe -np 2 cpae-mpi run --preset small --system pendulum --out runs/small
              cpae-mpi config --preset small > my.json && cpae-mpi run --config my.json --out runs/mine
            """)

    @Option(help: "Preset: \(PipelinePreset.allCases.map(\.rawValue).joined(separator: ", ")) (`cpae-mpi config --preset P` shows one in full).")
    var preset: PipelinePreset = .default
    @Option(help: "Simulated system (overrides the preset's and the file's data.system): \(PhysicalSystem.allNames).")
    var system: PhysicalSystem?
    @Option(help: "An existing dataset directory (from generate or ingest) instead of simulating one (overrides data.dir).")
    var data: String?
    @Option(help: "Run directory (default: runs/<preset>, or runs/<preset>-<system> for another system).")
    var out: String?
    @Option(help: "Configuration file applied over the preset (keys it leaves out keep the preset's values).")
    var config: String?

    /// The preset, the file over it, the flags over both; checked in full before any work.
    func resolvedConfiguration() throws -> Configuration {
        var c = preset.configuration(system: system ?? .pendulum)
        if let config { c = try Configuration.read(file: config, onto: c) }
        if let system { c.data.system = system }
        if let data { c.data.dir = data }
        try c.check(file: config)
        return c
    }

    var runDirectory: String {
        out ?? "runs/" + preset.rawValue + ((system ?? .pendulum) == .pendulum ? "" : "-" + system!.rawValue)
    }

    func run() throws {
        let c = try resolvedConfiguration()
        Communicator.runOrAbort { comm in try pipeline(c, comm) }
    }

    private func pipeline(_ c: Configuration, _ comm: Communicator) throws {
        let directory = runDirectory
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
            log("cpae-mpi run: done in \(Self.clock(clock.seconds)) → \(directory)/report.md, summary.json, vpt.png, frame_mse.png")
            print(Self.headline(directory: directory), terminator: "")
        }
    }

    private func run(_ stage: PipelineStage, _ c: Configuration, directory: String, data: String, _ comm: Communicator) throws {
        let fm = FileManager.default
        func modelDirectory(_ m: ModelVariant) -> String { directory + "/" + m.rawValue }
        switch stage {
        case .data:
            let present = fm.fileExists(atPath: data + "/manifest.json")
            if !present, c.data.dir != nil, self.data != nil {
                throw UserError("--data \(data) holds no dataset (no manifest.json); give a directory made by generate or ingest")
            }
            if !present && comm.isRoot {
                // One rank simulates (seconds for the default); the others wait without spinning.
                try invoke(GenerateCommand.self, ["--out", data] + c.data.arguments, stage)
            }
            _ = try comm.idleBarrier()
        case .trainAutoencoder(let m):
            let height = try DatasetReader(directory: data).description.height
            var args = ["--data", data, "--out", modelDirectory(m), "--size", "\(height)"] + m.arguments + c.train.arguments
            if fm.fileExists(atPath: RunDirectory(modelDirectory(m)).checkpoint) { args.append("--resume") }
            try invoke(TrainAECommand.self, args, stage)
        case .encode(let m):
            try invoke(EncodeCommand.self, ["--run", modelDirectory(m), "--data", data, "--overwrite"] + c.encode.arguments, stage)
        case .trainLatentModel(let m):
            var args = ["--run", modelDirectory(m)] + c.ode.arguments
            if fm.fileExists(atPath: RunDirectory(modelDirectory(m) + "/ode/" + c.ode.model.rawValue).checkpoint) { args.append("--resume") }
            try invoke(TrainODECommand.self, args, stage)
        case .evaluate(let m):
            try invoke(EvaluateCommand.self, ["--run", modelDirectory(m), "--data", data, "--model", c.ode.model.rawValue,
                                              "--name", m.title] + c.evaluate.arguments, stage)
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

    /// Runs a stage's command with `arguments` in this process (its own parsing and checks).
    private func invoke<C: ParsableCommand>(_ command: C.Type, _ arguments: [String], _ stage: PipelineStage) throws {
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

    /// The comparison in a few lines for the terminal.
    private static func headline(directory: String) -> String {
        guard let file = try? FileReader(path: directory + "/" + PipelineReport.summaryFileName),
              let summary = try? JSONCoding.decode(PipelineReport.Summary.self, from: file.read(count: file.size, at: 0), file: "summary.json")
        else { return "" }
        func pad(_ s: String) -> String { s.count >= 12 ? s : s + String(repeating: " ", count: 12 - s.count) }
        var text = "model        VPT ε=0.01  VPT ε=0.005  jump ratio  recon MSE\n"
        for m in summary.models {
            text += pad(m.title) + String(format: " %9.1f%%  %10.1f%%  %10.2f  %9.2e\n", m.vpt["0.01"] ?? .nan,
                                          m.vpt["0.005"] ?? .nan, m.jumpRatioMedian, m.reconMSE ?? .nan)
        }
        return text
    }

    private static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
