import ArgumentParser
import Core
import Distributed
import Foundation

struct EncodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Phase 2 input: encode every trajectory of a dataset into latent trajectories with a trained autoencoder.",
        discussion: """
            Loads the run's checkpoint.safetensors and config.json, puts the model in eval mode and encodes \
            every overlapping frame pair (t, t+1) of every trajectory of every split: T − 1 latents per \
            T-frame trajectory. Rank r encodes frame shards r, r + size, … into latent shards of the same \
            index; rank 0 writes latents.json last, after every rank has written its shards \
            (docs/formats.md §Latent shard, §Latent manifest).

              mpirun --oversubscribe -np 2 cpae-mpi encode --run runs/cpae
            """)

    @Option(name: .customLong("run"), help: "Run directory of train-ae (config.json + checkpoint.safetensors).")
    var runDirectory: String

    @Option(help: "Dataset directory to encode (default: the `data` path in the run's config.json).")
    var data: String?

    @Option(help: "Output directory for the latents (default: RUN/latents).")
    var out: String?

    @Option(help: "Frame pairs per forward pass (bounds memory; the reference used 590).")
    var batch = 128

    @Flag(help: "Replace latents already in the output directory.")
    var overwrite = false

    @Option(name: .customLong("compression-level"), help: "zstd level of the latent shards.")
    var compressionLevel: Int32 = 3

    @Flag(name: .customLong("no-verify"),
          help: "Skip checking the frame shards' SHA-256 against manifest.json (zstd still checks every frame it decodes).")
    var noVerify = false

    @Option(name: .customLong("collective-timeout"),
            help: "End the job, naming the collective, when one waits longer than this many seconds (0: never).")
    var collectiveTimeout = 600.0

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1 (got \(batch))") }
        guard collectiveTimeout >= 0 else { throw ValidationError("--collective-timeout must be ≥ 0") }
    }

    func run() throws {
        Communicator.runOrAbort { comm in
            try encode(comm)
        }
    }

    private func encode(_ comm: Communicator) throws {
        if collectiveTimeout > 0 && comm.size > 1 { comm.startWatchdog(timeout: collectiveTimeout) }
        let run = RunDirectory(runDirectory)
        let config = try Self.runConfiguration(run.config)
        let dataPath = data ?? config.data
        let reader: DatasetReader
        do { reader = try DatasetReader(directory: dataPath) } catch let e as DatasetError where data == nil && e.kind == .manifest {
            throw UserError("\(e.message)\n(the dataset path comes from \(run.config); pass --data DIR if the dataset has moved)")
        }
        let fingerprint = SHA256.hex(reader.fingerprint)
        if data == nil && fingerprint != config.dataFingerprint {
            throw UserError("\(dataPath) is not the dataset the run was trained on: its fingerprint is \(fingerprint), \(run.config) records \(config.dataFingerprint) — regenerate it as it was, or pass --data \(dataPath) to encode it anyway")
        }
        // Each rank hashes every size-th shard, as train-ae does: every byte hashed once per job.
        if !noVerify { try reader.verifyDigests(shards: stride(from: comm.rank, to: reader.manifest.shards.count, by: comm.size)) }
        let checkpointDigest = try SHA256.hexDigest(ofFile: run.checkpoint)
        let (model, _) = try Autoencoder.load(checkpoint: run.checkpoint)
        guard model.config == config.model else {
            throw UserError("\(run.checkpoint) holds a different model than \(run.config) describes (\(try JSONCoding.string(model.config)) vs \(try JSONCoding.string(config.model))) — was the run directory assembled from two runs? Re-run train-ae")
        }
        let outDirectory = out ?? runDirectory + "/latents"
        // Different checkpoints, datasets or flags on different ranks would write a mixed directory.
        try comm.agree(on: SHA256.prefix64([checkpointDigest, fingerprint, outDirectory, "\(batch)", "\(compressionLevel)"].joined(separator: "\n")),
                       what: "checkpoint, dataset and encode flags")
        if comm.isRoot { try LatentDirectory.prepare(outDirectory, overwrite: overwrite) }
        // Nobody writes a shard before rank 0 has cleared the directory (a failure there aborts the job).
        try comm.barrier()

        let d = reader.description
        // The rank's compute budget (as train-ae hands it to its model) as that many serial replicas:
        // the latents are then the same bits for any rank count (see LatentEncoder).
        let replicas = try [model] + (1..<max(comm.computeBudget.threads, 1)).map { _ in try Autoencoder.load(checkpoint: run.checkpoint).model }
        let encoder = try LatentEncoder(replicas: replicas, pairsPerBatch: batch)
        let writer = try LatentShardWriter(directory: outDirectory, dimension: model.config.latent, latentsPerTrajectory: d.frameCount - 1,
                                           stateDimension: d.stateNames.count, dt: d.dt, compressionLevel: compressionLevel)
        let clock = Stopwatch()
        var written: [WrittenShard] = []
        for s in stride(from: comm.rank, to: reader.shards.count, by: comm.size) {
            let trajectories = try encoder.encode(shard: s, of: reader)
            written.append(WrittenShard(index: s, entry: try writer.writeShard(index: s, trajectories: trajectories)))
        }
        let localSeconds = clock.seconds
        // Every rank's manifest entries to rank 0 (allgather: the one string collective there is).
        let lists = try comm.allgather(try JSONCoding.string(written))
        let seconds = clock.seconds
        let slowest = try comm.allgather(localSeconds).max() ?? localSeconds
        guard comm.isRoot else { return }
        var entries: [WrittenShard] = []
        for (rank, text) in lists.enumerated() {
            entries += try JSONCoding.decode([WrittenShard].self, from: Array(text.utf8), file: "rank \(rank)'s shard list")
        }
        entries.sort { $0.index < $1.index }
        guard entries.map(\.index) == Array(reader.shards.indices) else {
            throw UserError("internal: the ranks wrote shards \(entries.map(\.index)), expected 0..<\(reader.shards.count)")
        }
        let manifest = LatentManifest(
            autoencoder: .init(checkpoint: run.checkpoint, checkpointSHA256: checkpointDigest, model: model.config, runDirectory: runDirectory),
            dataset: .init(path: dataPath, fingerprint: fingerprint, system: d.system, frameCount: d.frameCount),
            latentDimension: model.config.latent, latentsPerTrajectory: d.frameCount - 1, dt: d.dt, stateNames: d.stateNames,
            splits: reader.splits, compressionLevel: Int(compressionLevel), shards: entries.map(\.entry))
        try manifest.write(directory: outDirectory)
        let trajectories = manifest.trajectoryCount, pairs = trajectories * (d.frameCount - 1)
        print(String(format: "encoded %d trajectories (%d pairs, d = %d) on %d rank(s) × %d thread(s) in %.2f s: %.0f pairs/s, %.1f trajectories/s (slowest rank %.2f s) → %@",
                     trajectories, pairs, model.config.latent, comm.size, comm.blasThreads, seconds, Double(pairs) / seconds,
                     Double(trajectories) / seconds, slowest, outDirectory + "/" + LatentManifest.fileName))
    }

    /// One latent shard as a rank reports it to rank 0.
    private struct WrittenShard: Codable {
        var index: Int
        var entry: Manifest.Shard
    }

    /// The run's config.json (written by train-ae).
    static func runConfiguration(_ path: String) throws -> RunConfiguration {
        let file: FileReader
        do { file = try FileReader(path: path) } catch let e as FileError where e.isNotFound {
            throw UserError("\(path) not found — --run must name a run directory written by `cpae-mpi train-ae` (config.json + checkpoint.safetensors)")
        }
        do { return try JSONCoding.decode(RunConfiguration.self, from: try file.read(count: file.size, at: 0), file: path) } catch let e as JSONDecodingError {
            throw UserError("\(e) — not a train-ae config.json; re-run train-ae or fix the file")
        }
    }
}
