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
    @Option(help: "Latent model: mlp (Neural ODE), hnn (Hamiltonian field) or sympnet (LA-SympNet map).")
    var model: LatentModelConfig.Kind = .mlp
    @Option(help: "Hidden widths (comma-separated): the MLP field's layers, or H's width for hnn.")
    var widths = "256,256"
    @Option(name: .customLong("sympnet-layers"), help: "LA-SympNet: linear/activation module pairs.")
    var sympnetLayers = 3
    @Option(name: .customLong("sympnet-sublayers"), help: "LA-SympNet: shear sublayers per linear module.")
    var sympnetSublayers = 2
    @Option(name: .customLong("frame-step"), help: "Time units per frame h (the reference: 0.01).")
    var frameStep: Float = 0.01
    @Option(help: "Fixed-step training integrator: midpoint (the reference) or rk4.")
    var method: FixedStepMethod = .midpoint
    @Option(help: "Integrator substeps per frame (the reference: 2).")
    var substeps = 2
    @Option(name: .customLong("rollout-steps"), help: "Targets per start: 1 = one-step loss (the reference), k > 1 = k-frame rollout loss.")
    var rolloutSteps = 1
    @Option(name: .customLong("global-batch"), help: "Pairs per step over all ranks (default: the reference's 20,000, or every train pair if fewer).")
    var globalBatch: Int?
    @Option(help: "Train for this many epochs of the train pairs.")
    var epochs: Int?
    @Option(help: "Train for this many optimizer steps (the reference: 500,000).")
    var steps: Int?
    @Option(help: "Seed of the initialisation and of the per-epoch shuffles.")
    var seed: UInt64 = 0
    @Option(name: .customLong("lr-schedule"), help: "constant:LR, exp:LR0:FINAL:STEPS or step:LR0:GAMMA:M1,… (default: exp:0.01:0.001:<steps>, the reference's decay).")
    var lrSchedule: String?
    @Option(name: .customLong("weight-decay"), help: "Adam's L2 weight decay.")
    var weightDecay: Float = 0
    @Option(name: .customLong("checkpoint-every"), help: "Write checkpoint.safetensors every N steps (0: only at the end).")
    var checkpointEvery = 0
    @Option(name: .customLong("evaluate-every"), help: "Validation loss and model selection every N steps (and at the last).")
    var evaluateEvery = 100
    @Option(help: "Which model to keep: validation-loss (lowest validation loss) or train-loss (lowest logged training-batch loss, the reference's rule).")
    var select: CheckpointSelection = .validationLoss
    @Flag(help: "Continue from RUN/ode/<model>/checkpoint.safetensors (exactly: same batches, same optimizer state).")
    var resume = false
    @Option(name: .customLong("on-nan"), help: "When the loss or gradient is NaN/Inf: stop or skip the step on every rank.")
    var onNaN: NonFinitePolicy = .stop
    @Option(name: .customLong("progress-seconds"), help: "Seconds between progress lines on rank 0.")
    var progressSeconds = 10.0
    @Option(name: .customLong("collective-timeout"), help: "End the job, naming the collective, when one waits longer than this many seconds (0: never).")
    var collectiveTimeout = 600.0
    @Flag(name: .customLong("no-verify"), help: "Skip checking the latent shards' SHA-256 against latents.json.")
    var noVerify = false
    @OptionGroup var debug: DebugHooks

    func validate() throws {
        guard (epochs == nil) != (steps == nil) else { throw ValidationError("give exactly one of --epochs and --steps") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be ≥ 1 (got \(epochs))") }
        if let steps, steps < 1 { throw ValidationError("--steps must be ≥ 1 (got \(steps))") }
        if let globalBatch, globalBatch < 1 { throw ValidationError("--global-batch must be ≥ 1 (got \(globalBatch))") }
        guard evaluateEvery >= 1 else { throw ValidationError("--evaluate-every must be ≥ 1 (got \(evaluateEvery))") }
        guard substeps >= 1 else { throw ValidationError("--substeps must be ≥ 1 (got \(substeps))") }
        guard rolloutSteps >= 1 else { throw ValidationError("--rollout-steps must be ≥ 1 (got \(rolloutSteps))") }
        guard frameStep.isFinite, frameStep > 0 else { throw ValidationError("--frame-step must be positive (got \(frameStep))") }
        guard parsedWidths != nil else { throw ValidationError("--widths must be comma-separated positive integers, e.g. 256,256 (got '\(widths)')") }
        if let lrSchedule { _ = try LearningRateSchedule(parsing: lrSchedule) }
    }

    private var parsedWidths: [Int]? {
        let w = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return w.isEmpty || w.contains { $0 == nil || $0! < 1 } ? nil : w.map { $0! }
    }

    func run() throws {
        Communicator.runOrAbort { comm in try train(comm) }
    }

    private func train(_ comm: Communicator) throws {
        if collectiveTimeout > 0 && comm.size > 1 { comm.startWatchdog(timeout: collectiveTimeout) }
        let latentDirectory = latents ?? runDirectory + "/latents"
        let dataset = try LatentDataset(directory: latentDirectory, verifyDigests: !noVerify)
        let modelConfig = LatentModelConfig(kind: model, dimension: dataset.dimension, hiddenWidths: parsedWidths!,
                                            sympnetLayers: sympnetLayers, sympnetSublayers: sympnetSublayers,
                                            frameStep: frameStep, method: method, substeps: substeps, rolloutSteps: rolloutSteps)
        let trainPairs = dataset.pairStarts(of: .train, steps: rolloutSteps).count
        guard trainPairs > 0 else {
            throw UserError("\(latentDirectory) has no train pairs with \(rolloutSteps)-step targets; encode a dataset with a train split (or lower --rollout-steps)")
        }
        // The reference's 20,000 pairs per step, or every pair once per step when there are fewer.
        let batch = globalBatch ?? max(comm.size, min(20_000, trainPairs) / comm.size * comm.size)
        guard batch % comm.size == 0 else {
            throw UserError("--global-batch \(batch) does not divide over \(comm.size) ranks; use a multiple of \(comm.size)")
        }
        let sampler = try LatentPairSampler(dataset: dataset, split: .train, steps: rolloutSteps, rank: comm.rank,
                                            worldSize: comm.size, localBatch: batch / comm.size, seed: seed)
        let totalSteps = steps ?? epochs! * sampler.stepsPerEpoch
        let settings = TrainerSettings(globalBatch: batch, steps: totalSteps, schedule: lrSchedule ?? "exp:0.01:0.001:\(totalSteps)",
                                       weightDecay: weightDecay, checkpointEvery: checkpointEvery, nonFinite: onNaN,
                                       seed: seed, syncBatchNorm: false)
        let hasValidation = !dataset.pairStarts(of: .validation, steps: rolloutSteps).isEmpty
        let validation = hasValidation
            ? try LatentPairSet(dataset: dataset, split: .validation, steps: rolloutSteps, rank: comm.rank, worldSize: comm.size) : nil
        if select == .validationLoss && !hasValidation {
            throw UserError("\(latentDirectory) has no validation pairs, so --select validation-loss cannot choose a model; use --select train-loss")
        }
        let runConfig = ODERunConfiguration(model: modelConfig, trainer: settings, latents: latentDirectory,
                                            autoencoderSHA256: dataset.manifest.autoencoder.checkpointSHA256,
                                            evaluateEvery: evaluateEvery, selection: select, ranks: comm.size)
        try comm.agree(on: SHA256.prefix64(try runConfig.json(pretty: false)), what: "latent model configuration and latents")
        let dynamics = try modelConfig.build(seed: seed, budget: comm.computeBudget)
        let trainer = try ODETrainer(model: dynamics, group: comm, sampler: sampler, settings: settings)
        let run = ODETrainingRun(directory: RunDirectory(runDirectory + "/ode/" + model.rawValue), configuration: runConfig,
                                 trainer: trainer, validation: validation)
        run.progressInterval = progressSeconds
        run.afterBackward = debug.faults(rank: comm.rank, store: dynamics.store)
        if comm.isRoot {
            FileHandle.standardError.write(Data("cpae-mpi: \(comm.size) rank(s), threads per rank \(comm.blasThreads) (\(comm.blasThreadsReason)); \(sampler.stepsPerEpoch) steps per epoch of \(trainPairs) train pairs\n".utf8))
        }
        do {
            try run.run(resume: resume)
        } catch let e as TrainingError {
            comm.endTogether(e)
        }
    }
}
