import ArgumentParser
import Core
import Distributed
import Foundation

extension NonFinitePolicy: ExpressibleByArgument {}

struct TrainAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-ae",
        abstract: "Phase 1: train the autoencoder data-parallel (one rank, or every rank under mpirun/srun).",
        discussion: """
            Each rank holds a replica, computes gradients on its share of every global batch, and the ranks \
            average them with one allreduce before the same Adam step. BatchNorm statistics are synchronized \
            across ranks unless --per-rank-batchnorm. The run directory holds config.json, metrics.jsonl and \
            checkpoint.safetensors (written atomically by rank 0).

              mpirun --oversubscribe -np 4 cpae-mpi train-ae --data data/pendulum --preset small \\
                     --global-batch 128 --epochs 10 --seed 0 --out runs/cpae
            """)

    @Option(help: "Dataset directory (manifest.json + shards), from `generate` or `ingest`.")
    var data: String

    @OptionGroup var model: ModelOptions

    @Option(name: .customLong("global-batch"), help: "Samples per optimizer step over all ranks (a multiple of the rank count).")
    var globalBatch: Int

    @Option(help: "Train for this many epochs of the training split.")
    var epochs: Int?

    @Option(help: "Train for this many optimizer steps (instead of --epochs).")
    var steps: Int?

    @Option(help: "Seed of the initialisation and of the per-epoch shuffles.")
    var seed: UInt64 = 0

    @Option(help: "Run directory.")
    var out: String

    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint every N steps (0: only at the end).")
    var checkpointEvery: Int = 0

    @Flag(help: "Continue from the run directory's checkpoint (exactly: same batches, same optimizer state).")
    var resume = false

    @Option(name: .customLong("lr-schedule"), help: "constant:LR, exp:LR0:FINAL:STEPS or step:LR0:GAMMA:M1,M2,…")
    var lrSchedule = "constant:1e-3"

    @Option(name: .customLong("latent-warmup"),
            help: "Steps over which the reference objective's latent weight λ ramps from 0 to its value, after --latent-hold (default: one epoch; with --latent-hold 0, 0 trains as the reference code). Without a warm-up some seeds stall at the mean image (docs/method.md §Training).")
    var latentWarmup: Int?

    @Option(name: .customLong("latent-hold"),
            help: "Steps of pure reconstruction (λ = 0) before that ramp (default: two epochs).")
    var latentHold: Int?

    @Option(name: .customLong("bn-recalibration"),
            help: "Batches over which BatchNorm's running statistics are re-estimated at the final weights before the last checkpoint (default: one epoch, at most 100; 0 keeps the moving averages, as the reference). The moving averages lag the weights, and eval mode then reconstructs worse than training did (docs/method.md §BatchNorm).")
    var bnRecalibration: Int?

    @Option(name: .customLong("weight-decay"), help: "Adam's L2 weight decay.")
    var weightDecay: Float = 0

    @Option(name: .customLong("on-nan"), help: "When a loss or gradient is NaN/Inf: stop (default) or skip the step on every rank.")
    var onNaN: NonFinitePolicy = .stop

    @Flag(name: .customLong("per-rank-batchnorm"), help: "BatchNorm statistics per rank instead of over the global batch.")
    var perRankBatchNorm = false

    @Flag(name: .customLong("deterministic"),
          help: "Exact cross-sample sums: the checkpoints are the same bits at any rank count and thread count for the same global batch and seed (docs/distributed.md §Deterministic; costs time, see bench train).")
    var deterministic = false

    @Option(name: .customLong("deterministic-unit"),
            help: "With --deterministic: consecutive samples computed together and summed exactly as one (default 1). The same bytes then hold at every rank count whose local batch is a multiple of it; a larger unit costs less.")
    var deterministicUnit: Int?

    @Option(name: .customLong("cache-trajectories"), help: "Decoded trajectories each rank keeps in memory.")
    var cacheTrajectories = 128

    @Option(name: .customLong("progress-seconds"), help: "Seconds between progress lines on rank 0.")
    var progressSeconds = 5.0

    @Option(name: .customLong("collective-timeout"),
            help: "End the job, naming the collective, when one waits longer than this many seconds (0: never).")
    var collectiveTimeout = 600.0

    @Flag(name: .customLong("no-verify"),
          help: "Skip checking the shards' SHA-256 against manifest.json at start (zstd still checks every frame it decodes).")
    var noVerify = false

    @OptionGroup var debug: DebugHooks

    func validate() throws {
        guard (epochs == nil) != (steps == nil) else { throw ValidationError("give exactly one of --epochs and --steps") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be ≥ 1 (got \(epochs))") }
        if let steps, steps < 1 { throw ValidationError("--steps must be ≥ 1 (got \(steps))") }
        guard globalBatch >= 1 else { throw ValidationError("--global-batch must be ≥ 1 (got \(globalBatch))") }
        guard cacheTrajectories >= 1 else { throw ValidationError("--cache-trajectories must be ≥ 1") }
        if let latentHold, latentHold < 0 { throw ValidationError("--latent-hold must be ≥ 0 (got \(latentHold))") }
        if let latentWarmup, latentWarmup < 0 { throw ValidationError("--latent-warmup must be ≥ 0 (got \(latentWarmup))") }
        if let bnRecalibration, bnRecalibration < 0 { throw ValidationError("--bn-recalibration must be ≥ 0 (got \(bnRecalibration))") }
        guard collectiveTimeout >= 0 else { throw ValidationError("--collective-timeout must be ≥ 0") }
        if deterministicUnit != nil && !deterministic { throw ValidationError("--deterministic-unit needs --deterministic") }
        _ = try LearningRateSchedule(parsing: lrSchedule)
    }

    func run() throws {
        Communicator.runOrAbort { comm in
            try train(comm)
        }
    }

    private func train(_ comm: Communicator) throws {
        // A peer stuck outside MPI (a hung file system, a deadlock) must not hold the others forever.
        if collectiveTimeout > 0 && comm.size > 1 { comm.startWatchdog(timeout: collectiveTimeout) }
        let reader = try DatasetReader(directory: data)
        // Each rank hashes every size-th shard: every byte is hashed once per job (GB/s with SHA-NI,
        // milliseconds against an epoch); a damaged shard ends the job naming the file.
        if !noVerify { try reader.verifyDigests(shards: stride(from: comm.rank, to: reader.manifest.shards.count, by: comm.size)) }
        var config = try model.config()
        guard config.architecture != .circle else {
            throw UserError("the circle model trains on single frames; use the circle preset through the test suite or `bench`")
        }
        let d = reader.description
        if model.channels == nil { config.channels = d.channels }
        guard d.height == config.height, d.width == config.height, d.channels == config.channels else {
            throw UserError("dataset \(data) has \(d.channels)×\(d.height)×\(d.width) frames but the model expects \(config.channels)×\(config.height)×\(config.height); pass --size \(d.height) (and a matching --kernel/--preset) or regenerate the data")
        }
        let localBatch = globalBatch / max(comm.size, 1)
        guard globalBatch % comm.size == 0 else {
            throw UserError("--global-batch \(globalBatch) does not divide over \(comm.size) ranks; use a multiple of \(comm.size)")
        }
        let loader = try BatchLoader(reader: reader, split: .train, sampler: SamplerConfig(alignment: deterministic ? globalBatch : nil),
                                     rank: comm.rank, worldSize: comm.size,
                                     localBatch: localBatch, seed: seed, cacheCapacity: .trajectories(cacheTrajectories))
        defer { loader.close() }
        let totalSteps = steps ?? (epochs! * loader.stepsPerEpoch)
        let settings = TrainerSettings(globalBatch: globalBatch, steps: totalSteps, schedule: lrSchedule,
                                       weightDecay: weightDecay, checkpointEvery: checkpointEvery, nonFinite: onNaN,
                                       seed: seed, syncBatchNorm: !perRankBatchNorm, latentHoldSteps: latentHold ?? 2 * loader.stepsPerEpoch,
                                       latentWarmupSteps: latentWarmup ?? loader.stepsPerEpoch,
                                       batchNormRecalibration: bnRecalibration ?? min(100, loader.stepsPerEpoch),
                                       deterministic: deterministic, deterministicUnit: deterministicUnit)
        let ae = try Autoencoder(config: config, seed: seed)
        ae.computeBudget = comm.computeBudget
        ae.convAlgorithm = model.convAlgorithm
        let runConfig = RunConfiguration(model: config, trainer: settings, data: data,
                                         dataFingerprint: SHA256.hex(reader.fingerprint), ranks: deterministic ? nil : comm.size,
                                         convAlgorithm: model.convAlgorithm, convolutions: ae.convolutionAlgorithms)
        // Mismatched flags or datasets must fail here, on every rank, not deadlock in the first allreduce.
        try comm.agree(on: SHA256.prefix64(try runConfig.json(pretty: false)), what: "configuration and dataset")

        let source = try debug.batchSource(loader, rank: comm.rank, ranks: comm.size)
        let trainer = try AutoencoderTrainer(model: ae, group: comm, source: source, settings: settings)
        let run = TrainingRun(directory: RunDirectory(out), configuration: runConfig, trainer: trainer)
        run.progressInterval = progressSeconds
        run.afterBackward = debug.faults(rank: comm.rank, store: ae.store)
        if comm.isRoot {
            FileHandle.standardError.write("cpae-mpi: \(comm.size) rank(s), threads per rank \(comm.blasThreads) (\(comm.blasThreadsReason)); \(loader.stepsPerEpoch) steps per epoch\n".data(using: .utf8)!)
        }
        do {
            try run.run(resume: resume)
        } catch let e as TrainingError {
            // Every rank reaches the same verdict on the same step: end together, every rank's line printed.
            comm.endTogether(e)
        }
    }
}
