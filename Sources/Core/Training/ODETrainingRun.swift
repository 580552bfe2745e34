import Foundation

/// How phase 2 picks the model it keeps, recorded in `selection.json`.
public enum CheckpointSelection: String, Codable, Sendable, CaseIterable {
    /// The lowest validation loss among the evaluation points (the default: a held-out criterion).
    case validationLoss = "validation-loss"
    /// The lowest logged training-batch loss among the evaluation points (the reference's rule).
    case trainLoss = "train-loss"
}

/// Everything that determines a phase-2 run, written to `ode/<kind>/config.json` and agreed on by
/// every rank at start.
public struct ODERunConfiguration: Codable, Sendable, Equatable {
    public var model: LatentModelConfig
    public var trainer: TrainerSettings
    /// The latent directory and its manifest's autoencoder checkpoint digest (which encoder made them).
    public var latents: String
    public var autoencoderSHA256: String
    /// Validation loss (and selection) every this many steps, and at the last step.
    public var evaluateEvery: Int
    public var selection: CheckpointSelection
    /// The rank count; nil in the deterministic mode (see `RunConfiguration.ranks`).
    public var ranks: Int?

    public init(model: LatentModelConfig, trainer: TrainerSettings, latents: String, autoencoderSHA256: String,
                evaluateEvery: Int, selection: CheckpointSelection, ranks: Int?) {
        self.model = model; self.trainer = trainer; self.latents = latents; self.autoencoderSHA256 = autoencoderSHA256
        self.evaluateEvery = evaluateEvery; self.selection = selection; self.ranks = ranks
    }

    public func json(pretty: Bool = true) throws -> String { try JSONCoding.string(self, pretty: pretty) }
}

/// The files of one latent model's run, `AE_RUN/ode/<kind>/`: phase 1's layout (config.json,
/// metrics.jsonl, loss.png, checkpoint.safetensors — the latest state, where --resume starts) plus
/// the selected model and why.
extension RunDirectory {
    /// The model the selection criterion kept (`evaluate` uses this one).
    public var selected: String { path + "/selected.safetensors" }
    public var selection: String { path + "/selection.json" }
}

/// The selected model and why: written next to it.
public struct SelectionRecord: Codable, Sendable, Equatable {
    public var criterion: CheckpointSelection
    public var step: Int
    public var value: Double
    public var validationLoss: Double?
    public var trainLoss: Double
}

/// Where a phase-2 run stands, in every checkpoint's metadata (the best-so-far travels with it, so a
/// resumed run selects exactly as an uninterrupted one).
struct ODETrainingState: Codable, Sendable, Equatable {
    var step: Int
    var position: LoaderPosition
    var best: SelectionRecord?
}

/// Phase-2 training as a whole: resume, the step loop, validation and selection, rank-0 progress and
/// metrics, periodic atomic checkpoints. MPI-agnostic, like phase 1's `TrainingRun`.
public final class ODETrainingRun {
    public let directory: RunDirectory
    public let configuration: ODERunConfiguration
    public let trainer: ODETrainer
    public let validation: LatentPairSet?
    public let group: ReplicaGroup
    public var afterBackward: ((_ step: Int) throws -> Void)?
    public var progressInterval: Double = 10
    public var console: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    private var best: SelectionRecord?

    public init(directory: RunDirectory, configuration: ODERunConfiguration, trainer: ODETrainer, validation: LatentPairSet?) {
        self.directory = directory; self.configuration = configuration; self.trainer = trainer
        self.validation = validation; self.group = trainer.group
    }

    public func run(resume: Bool) throws {
        let settings = configuration.trainer
        var position = LoaderPosition(epoch: 0, step: 0)
        if resume && group.isRoot && FileManager.default.fileExists(atPath: directory.checkpoint) {
            let meta = try Checkpoint.load(from: directory.checkpoint, into: trainer.model.store, optimizer: trainer.optimizer)
            let state = try record(ODETrainingState.self, "training_state", in: meta)
            try checkCompatible(with: try record(ODERunConfiguration.self, "run_config", in: meta))
            trainer.stepsTaken = state.step
            position = state.position
            best = state.best
        }
        position = trainer.synchronizeFromRoot(position: position)
        let resumedFrom = trainer.stepsTaken
        guard try directory.start(at: resumedFrom, of: settings.steps, configuration: try configuration.json(),
                                  isRoot: group.isRoot, console: console) else { return }
        try trainer.sampler.seek(to: position)
        let metrics = group.isRoot ? try MetricsLog<ODEMetricsRecord>(path: directory.metrics, keepingStepsUpTo: resume ? resumedFrom : 0) : nil
        if group.isRoot {
            console(resumedFrom > 0
                ? "resuming at step \(resumedFrom) (\(position)) from \(directory.checkpoint)"
                : "training \(configuration.model.kind.rawValue) on \(configuration.latents): \(settings.steps) steps, global batch \(settings.globalBatch) of \(trainer.sampler.pairCount) pairs over \(group.replicas) rank(s), \(trainer.model.store.parameterCount) parameters")
        }
        trainer.afterBackward = afterBackward
        let started = Stopwatch()
        var lastPrint = -Double.infinity
        var window: [Double] = []
        while trainer.stepsTaken < settings.steps {
            let report = try trainer.step()
            window.append(report.seconds)
            if window.count > 20 { window.removeFirst() }
            let done = trainer.stepsTaken == settings.steps
            var validationLoss: Double?
            if done || trainer.stepsTaken % configuration.evaluateEvery == 0 {
                validationLoss = validation.map { trainer.loss(on: $0) }
                try select(report, validationLoss: validationLoss)
            }
            try metrics?.append(ODEMetricsRecord(report, validationLoss: validationLoss))
            if settings.checkpointEvery > 0 && trainer.stepsTaken % settings.checkpointEvery == 0 || done {
                try checkpoint(position: trainer.sampler.position)
            }
            if group.isRoot && (done || started.seconds - lastPrint >= progressInterval || trainer.stepsTaken == resumedFrom + 1) {
                lastPrint = started.seconds
                let perStep = window.reduce(0, +) / Double(window.count)
                let eta = Double(settings.steps - report.step) * perStep
                console(String(format: "iteration %d/%d  epoch %d  loss %.5g%@  lr %.3g  %.2f it/s  elapsed %@  ETA %@",
                               report.step, settings.steps, report.epoch, report.loss,
                               validationLoss.map { String(format: "  validation %.5g", $0) } ?? "",
                               report.learningRate, 1 / perStep, formatDuration(started.seconds), formatDuration(eta)))
            }
        }
        metrics?.close()
        if group.isRoot {
            if let best { try AtomicFile.write(Array(try JSONCoding.string(best, pretty: true).utf8) + [0x0A], to: directory.selection) }
            try TrainingPlots.writeODELossCurves(metrics: directory.metrics, to: directory.lossPlot,
                                                 title: "latent \(configuration.model.kind.rawValue) training loss (MSE/h²)")
            console("selected step \(best?.step ?? 0) by \(configuration.selection.rawValue) (\(String(format: "%.5g", best?.value ?? .nan))): \(directory.selected)")
            console("wrote \(directory.checkpoint), \(directory.metrics), \(directory.lossPlot)")
        }
    }

    /// Keeps the model if it is the best so far by the configured criterion (rank 0 writes it; every
    /// rank computes the same verdict from the same reduced numbers).
    private func select(_ report: ODEStepReport, validationLoss: Double?) throws {
        let value: Double
        switch configuration.selection {
        case .trainLoss: value = report.loss
        case .validationLoss:
            guard let v = validationLoss else {
                throw TrainingError.invalidSetting("--select validation-loss needs a validation split in \(configuration.latents); it has none — use --select train-loss")
            }
            value = v
        }
        guard value.isFinite, best.map({ value < $0.value }) ?? true else { return }
        best = SelectionRecord(criterion: configuration.selection, step: report.step, value: value,
                               validationLoss: validationLoss, trainLoss: report.loss)
        if group.isRoot { try save(to: directory.selected, position: trainer.sampler.position) }
    }

    private func checkCompatible(with old: ODERunConfiguration) throws {
        let new = configuration
        var differences: [String] = []
        if old.model != new.model { differences.append("latent model") }
        if old.autoencoderSHA256 != new.autoencoderSHA256 { differences.append("latents (encoded by another autoencoder checkpoint)") }
        if old.trainer.globalBatch != new.trainer.globalBatch { differences.append("--global-batch \(old.trainer.globalBatch) → \(new.trainer.globalBatch)") }
        if old.trainer.seed != new.trainer.seed { differences.append("--seed \(old.trainer.seed) → \(new.trainer.seed)") }
        if old.selection != new.selection { differences.append("--select \(old.selection.rawValue) → \(new.selection.rawValue)") }
        guard differences.isEmpty else {
            throw FileError(path: directory.checkpoint, item: "run_config",
                            problem: "--resume with a different \(differences.joined(separator: ", "))",
                            advice: "resume with the original flags, or remove \(directory.path) to start over")
        }
    }

    private func record<T: Decodable>(_ type: T.Type, _ key: String, in meta: [String: String]) throws -> T {
        try Checkpoint.metadataRecord(type, key, in: meta, path: directory.checkpoint,
                                      advice: "resume needs a checkpoint written by this cpae-mpi train-ode: remove \(directory.path) to start over")
    }

    private func checkpoint(position: LoaderPosition) throws {
        guard group.isRoot else { return }
        try save(to: directory.checkpoint, position: position)
    }

    private func save(to path: String, position: LoaderPosition) throws {
        let state = ODETrainingState(step: trainer.stepsTaken, position: position, best: best)
        try Checkpoint.save(to: path, store: trainer.model.store, optimizer: trainer.optimizer, metadata: [
            "training_state": try JSONCoding.string(state),
            "run_config": try configuration.json(pretty: false),
            "latent_model": try JSONCoding.string(configuration.model),
        ])
    }
}
