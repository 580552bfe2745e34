import Foundation

/// Everything that determines a run, written to `config.json` in the run directory and hashed across
/// ranks at start so that mismatched flags or datasets fail fast instead of deadlocking later.
public struct RunConfiguration: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var trainer: TrainerSettings
    public var data: String
    /// The dataset's fingerprint (SHA-256 over its manifest and shard headers) as this rank read it.
    public var dataFingerprint: String
    /// The rank count; nil in the deterministic mode, whose results do not depend on it (so its
    /// checkpoints are the same bytes at any rank count).
    public var ranks: Int?
    /// The requested convolution algorithm and what each layer ran (a compute setting: a resumed run
    /// may change it; nil in runs written before it existed).
    public var convAlgorithm: ConvAlgorithm?
    public var convolutions: [String: String]?

    public init(model: ModelConfig, trainer: TrainerSettings, data: String, dataFingerprint: String, ranks: Int?,
                convAlgorithm: ConvAlgorithm? = nil, convolutions: [String: String]? = nil) {
        self.model = model; self.trainer = trainer; self.data = data; self.dataFingerprint = dataFingerprint
        self.ranks = ranks; self.convAlgorithm = convAlgorithm; self.convolutions = convolutions
    }

    /// Sorted keys: these bytes are hashed for the cross-rank agreement check, so equal
    /// configurations must give equal text on every rank.
    public func json(pretty: Bool = true) throws -> String { try JSONCoding.string(self, pretty: pretty) }
}

/// The files of a run directory.
public struct RunDirectory: Sendable {
    public let path: String
    public init(_ path: String) { self.path = path }
    public var config: String { path + "/config.json" }
    public var metrics: String { path + "/metrics.jsonl" }
    public var lossPlot: String { path + "/loss.png" }
    public var checkpoint: String { path + "/checkpoint.safetensors" }
    public var summary: String { path + "/summary.json" }

    /// The start of a run of either phase, once rank 0's checkpoint (if any) was found compatible and
    /// every rank knows the step it resumes from: more steps taken than asked for is an error on every
    /// rank alike; only then does rank 0 touch the directory (create it, write config.json). Returns
    /// false when the checkpoint already holds every step asked for (nothing to train).
    func start(at resumedFrom: Int, of steps: Int, configuration json: String, isRoot: Bool,
               console: (String) -> Void) throws -> Bool {
        if resumedFrom > steps {
            throw TrainingError.invalidSetting(
                "\(checkpoint) is at step \(resumedFrom), beyond this run's \(steps) steps: "
                + "ask for at least \(resumedFrom) steps (--steps or --epochs), or start a new run in another directory")
        }
        if isRoot {
            try create()
            try AtomicFile.write(Array(json.utf8), to: config)
        }
        if resumedFrom == steps && resumedFrom > 0 {
            if isRoot { console("\(checkpoint) is already at step \(resumedFrom) of \(steps): nothing to train") }
            return false
        }
        return true
    }

    public func create() throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw FileError(path: path, problem: "cannot create the run directory (\(error.localizedDescription))",
                            advice: "choose a writable --out directory")
        }
    }
}

/// Phase-1 training as a whole: start-up agreement, resume, the step loop, rank-0 progress and
/// metrics, periodic atomic checkpoints. MPI-agnostic: it sees the ranks through `ReplicaGroup`.
public final class TrainingRun {
    public let directory: RunDirectory
    public let configuration: RunConfiguration
    public let trainer: AutoencoderTrainer
    public let group: ReplicaGroup
    /// Called on every rank after the local backward of each step (tests inject failures here).
    public var afterBackward: ((_ step: Int) throws -> Void)?
    /// Rank-0 console output (progress lines); stderr by default.
    public var console: (String) -> Void = { FileHandle.standardError.write(($0 + "\n").data(using: .utf8)!) }
    /// Seconds between progress lines.
    public var progressInterval = 2.0

    public init(directory: RunDirectory, configuration: RunConfiguration, trainer: AutoencoderTrainer) {
        self.directory = directory
        self.configuration = configuration
        self.trainer = trainer
        self.group = trainer.group
    }

    /// Runs to `configuration.trainer.steps`, resuming from the run directory's checkpoint when asked.
    public func run(resume: Bool) throws {
        let settings = configuration.trainer
        let source = trainer.source
        // Rank 0 decides what the run starts from; everyone gets its parameters, statistics,
        // optimizer state and sampler position.
        var position = LoaderPosition(epoch: 0, step: 0)
        var resumedFrom = 0
        var recalibrated = 0
        if resume && group.isRoot && FileManager.default.fileExists(atPath: directory.checkpoint) {
            let meta = try Checkpoint.load(from: directory.checkpoint, into: trainer.model.store, optimizer: trainer.optimizer)
            let state = try metadataRecord(TrainingState.self, "training_state", in: meta)
            try checkCompatible(with: try metadataRecord(RunConfiguration.self, "run_config", in: meta))
            trainer.stepsTaken = state.step
            position = state.position
            resumedFrom = state.step
            recalibrated = state.batchNormRecalibration ?? 0
        }
        position = trainer.synchronizeFromRoot(position: position)
        resumedFrom = trainer.stepsTaken
        recalibrated = group.broadcast(value: recalibrated, root: 0)
        // Every rank has the same step now, so every rank reaches the same verdict (a collective error).
        guard try directory.start(at: resumedFrom, of: settings.steps, configuration: try configuration.json(),
                                  isRoot: group.isRoot, console: console) else {
            // A finished run whose statistics were not re-estimated as this run asks (one written
            // before the option, or with another count) gets them now: the same final checkpoint
            // as a run that was never interrupted.
            if recalibrationBatches > 0 && recalibrated != recalibrationBatches {
                try source.seek(to: position)
                try finish(position: position)
            }
            return
        }
        try source.seek(to: position)

        let metrics = group.isRoot ? try MetricsLog<MetricsRecord>(path: directory.metrics, keepingStepsUpTo: resume ? resumedFrom : 0) : nil
        if group.isRoot {
            console(resumedFrom > 0
                ? "resuming at step \(resumedFrom) (\(position)) from \(directory.checkpoint)"
                : "training \(configuration.model.architecture.rawValue) on \(configuration.data): \(settings.steps) steps, global batch \(settings.globalBatch) over \(group.replicas) rank(s), \(trainer.model.parameterCount) parameters")
        }
        trainer.afterBackward = afterBackward
        let started = Stopwatch()
        var lastPrint = -Double.infinity
        var window: [Double] = []
        while trainer.stepsTaken < settings.steps {
            let report = try trainer.step()
            window.append(report.seconds)
            if window.count > 20 { window.removeFirst() }
            if let metrics { try metrics.append(report) }
            let done = trainer.stepsTaken == settings.steps
            if done {
                try finish(position: source.position)
            } else if settings.checkpointEvery > 0 && trainer.stepsTaken % settings.checkpointEvery == 0 {
                try checkpoint(position: source.position)
            }
            if group.isRoot && (done || started.seconds - lastPrint >= progressInterval || trainer.stepsTaken == resumedFrom + 1) {
                lastPrint = started.seconds
                let perStep = window.reduce(0, +) / Double(window.count)
                console(progressLine(report, perStep: perStep, elapsed: started.seconds))
            }
        }
        metrics?.close()
        if group.isRoot {
            try TrainingPlots.writeLossCurves(metrics: directory.metrics, to: directory.lossPlot,
                                              title: "\(configuration.model.architecture.rawValue) training loss")
            console("wrote \(directory.checkpoint), \(directory.metrics), \(directory.lossPlot)")
        }
    }

    /// A resumed run may train longer, but must be the same model, data, batch and seed: anything else
    /// would silently continue a different experiment.
    private func checkCompatible(with old: RunConfiguration) throws {
        let new = configuration
        var differences: [String] = []
        if old.model != new.model { differences.append("model") }
        if old.dataFingerprint != new.dataFingerprint { differences.append("dataset (\(old.data) → \(new.data))") }
        if old.trainer.globalBatch != new.trainer.globalBatch { differences.append("--global-batch \(old.trainer.globalBatch) → \(new.trainer.globalBatch)") }
        if old.trainer.seed != new.trainer.seed { differences.append("--seed \(old.trainer.seed) → \(new.trainer.seed)") }
        if old.trainer.syncBatchNorm != new.trainer.syncBatchNorm { differences.append("BatchNorm synchronization") }
        guard differences.isEmpty else {
            throw FileError(path: directory.checkpoint, item: "run_config",
                            problem: "--resume with a different \(differences.joined(separator: ", "))",
                            advice: "resume with the original flags, or start a new run in another --out directory")
        }
        if let before = old.ranks, let now = new.ranks, before != now {
            console("note: resuming a \(before)-rank run on \(now) ranks: it continues correctly, but not bit for bit (--deterministic runs do)")
        }
    }

    private func metadataRecord<T: Decodable>(_ type: T.Type, _ key: String, in meta: [String: String]) throws -> T {
        try Checkpoint.metadataRecord(type, key, in: meta, path: directory.checkpoint,
                                      advice: "resume needs a checkpoint written by this cpae-mpi: start a new run in another --out directory")
    }

    private var recalibrationBatches: Int { max(0, configuration.trainer.batchNormRecalibration ?? 0) }

    /// The last checkpoint, with BatchNorm's statistics re-estimated at the final weights when the
    /// run asks for it (every rank takes part: the recalibration's forward passes are collective).
    private func finish(position: LoaderPosition) throws {
        let batches = recalibrationBatches
        if batches > 0 {
            if group.isRoot { console("re-estimating BatchNorm statistics at the final weights over \(batches) batches") }
            try trainer.recalibrateBatchNorm(batches: batches)
        }
        try checkpoint(position: position, recalibrated: batches)
    }

    private func checkpoint(position: LoaderPosition, recalibrated: Int = 0) throws {
        guard group.isRoot else { return }
        let state = TrainingState(step: trainer.stepsTaken, position: position, seed: configuration.trainer.seed,
                                  batchNormRecalibration: recalibrated > 0 ? recalibrated : nil)
        try trainer.model.save(to: directory.checkpoint, optimizer: trainer.optimizer, metadata: [
            "training_state": try state.json(),
            "run_config": try configuration.json(pretty: false),
        ])
    }

    private func progressLine(_ r: StepReport, perStep: Double, elapsed: Double) -> String {
        let total = configuration.trainer.steps
        let eta = Double(total - r.step) * perStep
        let terms = r.terms.named.filter { $0.1 != 0 }.map { "\($0.0) \(String(format: "%.4g", $0.1))" }.joined(separator: "  ")
        return String(format: "step %d/%d  epoch %d  loss %.5g  (%@)  %.1f samples/s  lr %.3g  elapsed %@  ETA %@",
                      r.step, total, r.epoch, r.terms.total, terms, Double(r.samples) / perStep, r.learningRate,
                      formatDuration(elapsed), formatDuration(eta))
    }
}

/// Where a run stands, stored in each checkpoint's metadata.
public struct TrainingState: Codable, Sendable, Equatable {
    public var step: Int
    public var position: LoaderPosition
    public var seed: UInt64
    /// Batches BatchNorm's statistics were re-estimated over (the final checkpoint only; nil: the
    /// moving averages of training).
    public var batchNormRecalibration: Int?

    func json() throws -> String { try JSONCoding.string(self) }
}

func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60)
        : t >= 60 ? String(format: "%dm%02ds", t / 60, t % 60) : "\(t)s"
}
