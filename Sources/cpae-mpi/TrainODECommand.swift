import ArgumentParser
import Core
import Distributed
import Foundation

extension LatentModelConfig.Kind: ExpressibleByArgument {}
extension FixedStepMethod: ExpressibleByArgument {}
extension CheckpointSelection: ExpressibleByArgument {}

struct TrainODECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-ode",
        abstract: "Phase 2: train a latent dynamics model on an autoencoder run's latents, data-parallel.",
        discussion: """
            Reads RUN/latents (from `cpae-mpi encode --run RUN`), trains on pairs (z_t, z_{t+k}) of the train \
            split with the loss MSE/h² (docs/method.md §Latent dynamics), one allreduce per step as in phase 1, \
            and writes RUN/ode/<model>/: config.json, metrics.jsonl, loss.png, checkpoint.safetensors (latest, \
            for --resume), selected.safetensors and selection.json (the model `evaluate` uses).

              mpirun --oversubscribe -np 2 cpae-mpi train-ode --run runs/cpae --model mlp --steps 5000
            """)

    @Option(name: .customLong("run"), help: "Run directory of train-ae whose latents to model.")
    var runDirectory: String
    @Option(help: "Latent directory (default: RUN/latents).")
    var latents: String?
    @Option(help: "Configuration file whose `ode` section sets any of the options below; flags override it (`cpae-mpi config` prints a complete one).")
    var config: String?
    @Option(help: "Latent model: mlp (Neural ODE), hnn (Hamiltonian field) or sympnet (LA-SympNet map). (default: mlp)")
    var model: LatentModelConfig.Kind?
    @Option(help: "Hidden widths (comma-separated): the MLP field's layers, or H's width for hnn. (default: 256,256)")
    var widths: String?
    @Option(name: .customLong("sympnet-layers"), help: "LA-SympNet: linear/activation module pairs. (default: 3)")
    var sympnetLayers: Int?
    @Option(name: .customLong("sympnet-sublayers"), help: "LA-SympNet: shear sublayers per linear module. (default: 2)")
    var sympnetSublayers: Int?
    @Option(name: .customLong("frame-step"), help: "Time units per frame h. (default: 0.01, the reference's)")
    var frameStep: Float?
    @Option(help: "Fixed-step training integrator: midpoint (the reference) or rk4. (default: midpoint)")
    var method: FixedStepMethod?
    @Option(help: "Integrator substeps per frame. (default: 2, the reference's)")
    var substeps: Int?
    @Option(name: .customLong("rollout-steps"), help: "Targets per start: 1 = one-step loss (the reference), k > 1 = k-frame rollout loss. (default: 1)")
    var rolloutSteps: Int?
    @Option(name: .customLong("global-batch"), help: "Pairs per step over all ranks (default: the reference's 20,000, or every train pair if fewer).")
    var globalBatch: Int?
    @Option(help: "Train for this many epochs of the train pairs (give this or --steps, here or in the configuration).")
    var epochs: Int?
    @Option(help: "Train for this many optimizer steps (the reference: 500,000).")
    var steps: Int?
    @Option(help: "Seed of the initialisation and of the per-epoch shuffles. (default: 0)")
    var seed: UInt64?
    @Option(name: .customLong("lr-schedule"), help: "constant:LR, exp:LR0:FINAL:STEPS or step:LR0:GAMMA:M1,… (default: exp:0.01:0.001:<steps>, the reference's decay).")
    var lrSchedule: String?
    @Option(name: .customLong("weight-decay"), help: "Adam's L2 weight decay. (default: 0)")
    var weightDecay: Float?
    @Option(name: .customLong("checkpoint-every"), help: "Write checkpoint.safetensors every N steps (0: only at the end). (default: 0)")
    var checkpointEvery: Int?
    @Option(name: .customLong("evaluate-every"), help: "Validation loss and model selection every N steps (and at the last). (default: 100)")
    var evaluateEvery: Int?
    @Option(help: "Which model to keep: validation-loss (lowest validation loss) or train-loss (lowest logged training-batch loss, the reference's rule). (default: validation-loss)")
    var select: CheckpointSelection?
    @Flag(help: "Continue from RUN/ode/<model>/checkpoint.safetensors (exactly: same batches, same optimizer state).")
    var resume = false
    @Option(name: .customLong("on-nan"), help: "When the loss or gradient is NaN/Inf: stop or skip the step on every rank. (default: stop)")
    var onNaN: NonFinitePolicy?
    @Option(name: .customLong("progress-seconds"), help: "Seconds between progress lines on rank 0. (default: 10)")
    var progressSeconds: Double?
    @Flag(name: .customLong("deterministic"),
          help: "Exact cross-sample sums: the checkpoints are the same bits at any rank count and thread count for the same global batch and seed (docs/distributed.md §Deterministic; costs time).")
    var deterministic = false

    @Option(name: .customLong("deterministic-unit"),
            help: "With --deterministic: consecutive pairs computed together and summed exactly as one. The same bytes then hold at every rank count whose local batch is a multiple of it. (default: the global batch over its largest power-of-two factor up to 64, e.g. 20,000 → 625: every power-of-two rank count up to that factor; 1 allows any rank count but runs one pair at a time, slowly)")
    var deterministicUnit: Int?

    @Option(name: .customLong("collective-timeout"), help: "End the job, naming the collective, when one waits longer than this many seconds (0: never). (default: 600)")
    var collectiveTimeout: Double?
    @Flag(name: .customLong("no-verify"), help: "Skip checking the latent shards' SHA-256 against latents.json.")
    var noVerify = false
    @OptionGroup var debug: DebugHooks

    func validate() throws {
        if let widths, Self.parse(widths: widths) == nil {
            throw ValidationError("--widths must be comma-separated positive integers, e.g. 256,256 (got '\(widths)')")
        }
    }

    private static func parse(widths: String) -> [Int]? {
        let w = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return w.isEmpty || w.contains { $0 == nil } ? nil : w.map { $0! }
    }

    /// The `ode` section of --config (or the defaults) with the given flags applied, checked as a
    /// whole: every problem is reported at once, named by its key, before any work starts.
    func settings() throws -> LatentTrainingConfig {
        var c = try config.map { try Configuration.read(file: $0).ode } ?? LatentTrainingConfig()
        if let model { c.model = model }
        if let widths { c.widths = Self.parse(widths: widths)! }
        if let sympnetLayers { c.sympnetLayers = sympnetLayers }
        if let sympnetSublayers { c.sympnetSublayers = sympnetSublayers }
        if let frameStep { c.frameStep = frameStep }
        if let method { c.method = method }
        if let substeps { c.substeps = substeps }
        if let rolloutSteps { c.rolloutSteps = rolloutSteps }
        if let globalBatch { c.globalBatch = globalBatch }
        // A length on the command line replaces the file's, whichever kind the file gave.
        if let epochs { c.epochs = epochs; c.steps = nil }
        if let steps { c.steps = steps; c.epochs = nil }
        if epochs != nil && steps != nil { c.epochs = epochs }
        if let seed { c.seed = seed }
        if let lrSchedule { c.lrSchedule = lrSchedule }
        if let weightDecay { c.weightDecay = weightDecay }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let evaluateEvery { c.evaluateEvery = evaluateEvery }
        if let select { c.select = select }
        if let onNaN { c.onNaN = onNaN }
        if let progressSeconds { c.progressSeconds = progressSeconds }
        if let collectiveTimeout { c.collectiveTimeout = collectiveTimeout }
        if deterministic { c.deterministic = true }
        if let deterministicUnit { c.deterministicUnit = deterministicUnit }
        try c.check(section: "ode", file: config)
        return c
    }

    func run() throws {
        Communicator.runOrAbort { comm in try train(comm) }
    }

    private func train(_ comm: Communicator) throws {
        let c = try settings()
        if c.collectiveTimeout > 0 && comm.size > 1 { comm.startWatchdog(timeout: c.collectiveTimeout) }
        let latentDirectory = latents ?? runDirectory + "/latents"
        let dataset = try LatentDataset(directory: latentDirectory, verifyDigests: !noVerify)
        let modelConfig = c.modelConfig(dimension: dataset.dimension)
        let trainPairs = dataset.pairStarts(of: .train, steps: c.rolloutSteps).count
        guard trainPairs > 0 else {
            throw UserError("\(latentDirectory) has no train pairs with \(c.rolloutSteps)-step targets; encode a dataset with a train split (or lower --rollout-steps)")
        }
        // The reference's 20,000 pairs per step, or every pair once per step when there are fewer.
        let batch = c.globalBatch ?? max(comm.size, min(20_000, trainPairs) / comm.size * comm.size)
        guard batch <= trainPairs else {
            // Drawing without replacement (the reference's rule) cannot fill a larger batch.
            throw UserError("--global-batch \(batch) is larger than the \(trainPairs) train pairs of \(latentDirectory); use at most \(trainPairs), or leave it unset (20,000, or every pair when there are fewer)")
        }
        guard batch % comm.size == 0 else {
            throw UserError("--global-batch \(batch) does not divide over \(comm.size) ranks; use a multiple of \(comm.size)")
        }
        let sampler = try LatentPairSampler(dataset: dataset, split: .train, steps: c.rolloutSteps, rank: comm.rank,
                                            worldSize: comm.size, localBatch: batch / comm.size, seed: c.seed,
                                            config: SamplerConfig(alignment: c.deterministic ? batch : nil))
        let totalSteps = c.steps ?? c.epochs! * sampler.stepsPerEpoch
        var unit = c.deterministicUnit
        if c.deterministic && unit == nil {
            let chosen = TrainerSettings.defaultLatentUnit(globalBatch: batch)
            guard (batch / comm.size) % chosen == 0 else {
                throw UserError("--deterministic: the default unit of \(chosen) pairs (global batch \(batch) in \(batch / chosen) units) does not divide the local batch \(batch / comm.size) of \(comm.size) ranks; pass --deterministic-unit with a divisor of \(batch / comm.size) (the same unit at every rank count you compare; 1 fits any, slowly)")
            }
            unit = chosen
        }
        let settings = TrainerSettings(globalBatch: batch, steps: totalSteps, schedule: c.lrSchedule ?? "exp:0.01:0.001:\(totalSteps)",
                                       weightDecay: c.weightDecay, checkpointEvery: c.checkpointEvery, nonFinite: c.onNaN,
                                       seed: c.seed, syncBatchNorm: false, deterministic: c.deterministic,
                                       deterministicUnit: unit)
        let hasValidation = !dataset.pairStarts(of: .validation, steps: c.rolloutSteps).isEmpty
        let validation = hasValidation
            ? try LatentPairSet(dataset: dataset, split: .validation, steps: c.rolloutSteps, rank: comm.rank, worldSize: comm.size) : nil
        if c.select == .validationLoss && !hasValidation {
            throw UserError("\(latentDirectory) has no validation pairs, so --select validation-loss cannot choose a model; use --select train-loss")
        }
        let runConfig = ODERunConfiguration(model: modelConfig, trainer: settings, latents: latentDirectory,
                                            autoencoderSHA256: dataset.manifest.autoencoder.checkpointSHA256,
                                            evaluateEvery: c.evaluateEvery, selection: c.select, ranks: c.deterministic ? nil : comm.size)
        try comm.agree(on: SHA256.prefix64(try runConfig.json(pretty: false)), what: "latent model configuration and latents")
        let dynamics = try modelConfig.build(seed: c.seed, budget: comm.computeBudget)
        let trainer = try ODETrainer(model: dynamics, group: comm, sampler: sampler, settings: settings,
                                     makeWorker: { try modelConfig.build(seed: c.seed) })
        let run = ODETrainingRun(directory: RunDirectory(runDirectory + "/ode/" + c.model.rawValue), configuration: runConfig,
                                 trainer: trainer, validation: validation)
        run.progressInterval = c.progressSeconds
        run.afterBackward = debug.faults(rank: comm.rank, store: dynamics.store)
        if comm.isRoot {
            // SympNetDynamics keeps the budget for the protocol but runs its small per-row kernels on one thread.
            let threads = c.model == .sympnet ? "1 thread per rank (the sympnet map's kernels are serial)"
                : "threads per rank \(comm.blasThreads) (\(comm.blasThreadsReason))"
            FileHandle.standardError.write(Data("cpae-mpi: \(comm.size) rank(s), \(threads); \(sampler.stepsPerEpoch) steps per epoch of \(trainPairs) train pairs\n".utf8))
        }
        do {
            try run.run(resume: resume)
        } catch let e as TrainingError {
            comm.endTogether(e)
        }
    }
}
