import ArgumentParser
import Core
import Distributed
import Foundation

extension SplitName: ExpressibleByArgument {}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Judge an autoencoder + latent model on a split: VPT forward and in reverse time, interpolation, continuity, state R².",
        discussion: """
            Encodes the first pair of every trajectory of the split, rolls the latent model forward, decodes \
            every state and compares its left half with the true frame (per-frame pixel MSE in [0, 1]); from \
            the last pair it rolls backward and scores the earlier frames the same way; at fractional times it \
            compares with frames the simulator renders at those exact times. Definitions and thresholds: \
            docs/method.md §Evaluation. Writes metrics.json, report.md and PNG figures into \
            RUN/ode/<model>/evaluation (or --out). Ranks split the trajectories.

              cpae-mpi evaluate --run runs/cpae --model mlp --compare runs/ae/ode/mlp/evaluation
            """)

    @Option(name: .customLong("run"), help: "Run directory of train-ae (with ode/<model>/ from train-ode).")
    var runDirectory: String
    @Option(help: "Latent model to evaluate (its ode/<model>/selected.safetensors).")
    var model: LatentModelConfig.Kind = .mlp
    @Option(help: "Dataset directory (default: the `data` path in the run's config.json).")
    var data: String?
    @Option(help: "Split to evaluate.")
    var split: SplitName = .test
    @Option(help: "Output directory (default: RUN/ode/<model>/evaluation).")
    var out: String?
    @Option(help: "Evaluate at most this many trajectories of the split (0: all).")
    var trajectories = 0
    @Option(parsing: .upToNextOption, help: "Evaluation directories (their metrics.json) of other runs to set side by side.")
    var compare: [String] = []
    @Option(help: "Name of this run in the report and figures (default: architecture + latent model).")
    var name: String?

    func validate() throws {
        guard trajectories >= 0 else { throw ValidationError("--trajectories must be ≥ 0 (got \(trajectories))") }
    }

    func run() throws {
        Communicator.runOrAbort { comm in try evaluate(comm) }
    }

    /// What each rank sends rank 0 about one trajectory.
    private struct Scored: Codable {
        var index: Int
        var score: TrajectoryScore
        var latentPath: [[Double]]
        var states: [[Double]]
        var reconstructionSquaredError: Double
        var reconstructionPixels: Int
        var latentStability: Double
        var interpolationMSE: Double?
    }

    private func evaluate(_ comm: Communicator) throws {
        let run = RunDirectory(runDirectory)
        let config = try EncodeCommand.runConfiguration(run.config)
        let odeDirectory = RunDirectory(runDirectory + "/ode/" + model.rawValue)
        let (autoencoder, _) = try Autoencoder.load(checkpoint: run.checkpoint)
        let dynamics = try Self.loadDynamics(odeDirectory)
        let reader = try DatasetReader(directory: data ?? config.data)
        let description = reader.description
        var sequences = try Self.sequences(of: split, in: reader)
        if trajectories > 0 { sequences = Array(sequences.prefix(trajectories)) }
        guard !sequences.isEmpty else { throw UserError("\(reader.directory) has no \(split.rawValue) trajectories to evaluate; choose another --split") }

        let groundTruth: FractionalGroundTruth?
        let unavailable: String?
        switch FractionalGroundTruth.make(for: description) {
        case .success(let g): groundTruth = g; unavailable = nil
        case .failure(let why): groundTruth = nil; unavailable = why.description
        }
        let evaluator = RolloutEvaluator(autoencoder: autoencoder, dynamics: dynamics, groundTruth: groundTruth)
        var mine: [Scored] = []
        var first: TrajectoryEvaluation?
        for i in stride(from: comm.rank, to: sequences.count, by: comm.size) {
            let e = try evaluator.evaluate(sequences[i])
            if i == 0 { first = e }
            mine.append(Scored(index: i, score: e.score, latentPath: e.latentPath, states: e.states,
                               reconstructionSquaredError: e.reconstructionSquaredError, reconstructionPixels: e.reconstructionPixels,
                               latentStability: e.latentStability, interpolationMSE: e.interpolationMSE))
        }
        let gathered = try comm.allgather(try JSONCoding.string(mine))
        guard comm.isRoot, let first else { return }
        var all: [Scored] = []
        for (rank, text) in gathered.enumerated() {
            all += try JSONCoding.decode([Scored].self, from: Array(text.utf8), file: "rank \(rank)'s scores")
        }
        all.sort { $0.index < $1.index }

        let interpolation: EvaluationMetrics.Interpolation
        let interpolated = all.compactMap(\.interpolationMSE)
        if let reason = evaluator.interpolationUnavailable(modelName: "the \(model.rawValue) model", datasetReason: unavailable) {
            interpolation = .unavailable(reason: reason)
        } else {
            precondition(interpolated.count == all.count, "evaluate: a continuous model scored interpolation on only \(interpolated.count) of \(all.count) trajectories")
            interpolation = .scored(mse: interpolated.reduce(0, +) / Double(interpolated.count), fractions: evaluator.fractions)
        }
        let stateR2 = try description.stateNames.isEmpty ? nil : Self.stateR2(run: runDirectory, test: all, names: description.stateNames)
        let label = name ?? "\(config.model.architecture.rawValue) + \(model.rawValue)"
        let metrics = EvaluationMetrics(
            model: label, autoencoder: run.checkpoint, latentModel: odeDirectory.selected, dataset: description.system,
            split: split.rawValue, scores: all.map(\.score), latentPaths: all.map(\.latentPath),
            reconstructionMSE: all.map(\.reconstructionSquaredError).reduce(0, +) / Double(all.map(\.reconstructionPixels).reduce(0, +)),
            interpolation: interpolation, stateR2: stateR2,
            latentStability: all.map(\.latentStability).reduce(0, +) / Double(all.count))
        let outDirectory = out ?? odeDirectory.path + "/evaluation"
        try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        try metrics.write(toDirectory: outDirectory)
        let others = try compare.map { try EvaluationMetrics.read($0 + "/" + EvaluationMetrics.fileName) }
        try EvaluationReport.write([metrics] + others, toDirectory: outDirectory, title: "Evaluation on the \(split.rawValue) split of \(description.system)")

        // Figures: the first trajectory's latents and frames, error curves and VPT bars of every run.
        try EvaluationPlots.latentFigure(latents: first.latentPath, states: first.states, stateNames: description.stateNames,
                                         title: "\(label): latents of \(split.rawValue) trajectory \(sequences[0].id)")
            .write(to: outDirectory + "/latents.png")
        let horizon = first.trueFrames.count
        let times = Array(Set(stride(from: 0, to: horizon, by: max(1, horizon / 8)).map { $0 } + [horizon - 1])).sorted()
        try EvaluationPlots.frameStripFigure(truth: first.trueFrames, predicted: first.predictedFrames, times: times,
                                             height: description.height, width: description.width, channels: description.channels,
                                             title: "\(label): trajectory \(sequences[0].id), true / predicted / |difference|")
            .write(to: outDirectory + "/frames.png")
        try EvaluationPlots.frameErrorFigure(curves: ([metrics] + others).map { (name: $0.model, mse: $0.frameMSEMedian) },
                                             thresholds: metrics.thresholds, title: "median per-frame MSE over \(all.count) \(split.rawValue) trajectories")
            .write(to: outDirectory + "/frame_mse.png")
        try EvaluationPlots.vptBarsFigure([metrics] + others, title: "VPT (% of \(horizon) frames) on \(description.system)")
            .write(to: outDirectory + "/vpt.png")
        let vpt = metrics.thresholds.map { "ε=\(ValidPredictionTime.key($0)): \(String(format: "%.1f", metrics.vpt[ValidPredictionTime.key($0)] ?? .nan))%" }
        print("\(label) on \(all.count) \(split.rawValue) trajectories: VPT \(vpt.joined(separator: ", ")); normalized (0.025) \(String(format: "%.1f", metrics.vptNormalized))%; jump ratio median \(String(format: "%.2f", metrics.jumpRatioMedian)); recon MSE \(String(format: "%.3g", metrics.reconMSE ?? .nan)) → \(outDirectory)")
    }

    /// The model train-ode selected, rebuilt from the configuration stored with it.
    static func loadDynamics(_ directory: RunDirectory) throws -> LatentDynamics {
        let file = try SafeTensorsFile.read(directory.selected)
        guard let text = file.metadata["latent_model"] else {
            throw FileError(path: directory.selected, problem: "no 'latent_model' in the metadata", advice: "run cpae-mpi train-ode first (it writes the selected model here)")
        }
        let config = try JSONCoding.decode(LatentModelConfig.self, from: Array(text.utf8), file: directory.selected, field: "latent_model")
        let dynamics = try config.build(seed: 0)
        _ = try Checkpoint.load(file, into: dynamics.store)
        return dynamics
    }

    /// The split's trajectories: by id, or (a dataset split by time, like circular motion) the split's
    /// frame range of every trajectory.
    static func sequences(of split: SplitName, in reader: DatasetReader) throws -> [FrameSequence] {
        let s = reader.splits
        let range: [Int]? = split == .train ? s.trainFrames : split == .validation ? s.validationFrames : s.testFrames
        guard let range else {
            let ids = split == .train ? s.train : split == .validation ? s.validation : s.test
            return try ids.map { try reader.trajectory(id: $0) }
        }
        return try reader.trajectoryIDs.map { id in
            let q = try reader.trajectory(id: id)
            let lo = range[0], hi = min(range[1], q.frameCount), n = q.bytesPerFrame, sd = q.stateDimension
            return FrameSequence(id: q.id, frameCount: hi - lo, height: q.height, width: q.width, channels: q.channels,
                                 frames: Array(q.frames[(lo * n)..<(hi * n)]), stateDimension: sd,
                                 states: Array(q.states[(lo * sd)..<(hi * sd)]))
        }
    }

    /// R² of a cubic regression from latents to each state: fitted on the run's train latents
    /// (RUN/latents from `encode`), scored on the evaluated trajectories.
    private static func stateR2(run: String, test: [Scored], names: [String]) throws -> [String: Double]? {
        guard FileManager.default.fileExists(atPath: run + "/latents/" + LatentManifest.fileName) else { return nil }
        let latents = try LatentDataset(directory: run + "/latents")
        let train = latents.trajectories(.train)
        guard !train.isEmpty, latents.stateNames == names else { return nil }
        let d = latents.dimension, s = names.count
        var trainZ: [[Double]] = [], trainS: [[Double]] = []
        for t in train {
            for k in 0..<t.count {
                trainZ.append((0..<d).map { Double(t.latents[k * d + $0]) })
                trainS.append(Array(t.states[(k * s)..<((k + 1) * s)]))
            }
        }
        // A tiny dataset (a smoke run) cannot determine a cubic fit in d variables: no R², not a crash.
        guard trainZ.count >= StateRegression.minimumTrainingRows(dimension: d) else {
            FileHandle.standardError.write(Data("evaluate: state R² not computed: \(trainZ.count) training latents for \(StateRegression.minimumTrainingRows(dimension: d) - 1) cubic features in d = \(d)\n".utf8))
            return nil
        }
        return StateRegression.r2(trainLatents: trainZ, trainStates: trainS,
                                  testLatents: test.flatMap(\.latentPath), testStates: test.flatMap(\.states), stateNames: names)
    }
}
