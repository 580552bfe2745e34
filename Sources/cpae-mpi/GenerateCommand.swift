import ArgumentParser
import Core
import Distributed
import Foundation

extension PhysicalSystem: ExpressibleByArgument {}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Simulate and render a physical-system dataset (frames plus ground-truth states).",
        discussion: """
        Systems and defaults (docs/method.md section Data; all can be overridden):
          pendulum          damped rod, theta'' = -(3g/2l) sin(theta) - 0.2 theta',
                            dt 2/60 s, theta0 ~ U(0, pi/2), theta'0 ~ U(-5, 5);
                            1200 trajectories x 60 frames, 128 px RGB
          elastic_pendulum  spring + rigid rod, 6-D state, dt 1/60 s, the
                            reference's rejection rule; 1200 x 60, 128 px RGB
          double_pendulum   rigid two-rod pendulum (0.205/0.179 m, 0.262/0.110
                            kg), dt 1/60 s; 1099 x 60, 128 px RGB
          circle            soft ball on a circle, 0.1 rad per frame; one
                            trajectory of 220 frames, 48 px grey; time split:
                            train frames 0-69, test 70-219

        Trajectory i depends only on (--seed, i), so a seed always gives the
        same bytes. Under mpirun/srun each rank writes every size-th shard and
        rank 0 writes manifest.json: the directory is byte for byte the same
        as from one rank (png-folders are written by rank 0 alone). Splits:
        80/10/10 by trajectory id, shuffled by the seed (a time split for
        circle). Edges are anti-aliased by supersampling
        (--samples squared point samples per edge pixel). Ground-truth states
        are stored with every trajectory.
        """)

    @Option(help: "The system to simulate.")
    var system: PhysicalSystem

    @Option(help: "Number of trajectories (default: the system's).")
    var trajectories: Int?

    @Option(help: "Frames per trajectory (default: the system's).")
    var frames: Int?

    @Option(help: "Frame width and height in pixels (default: the system's).")
    var size: Int?

    @Option(help: "1 (grey) or 3 (RGB) (default: the system's).")
    var channels: Int?

    @Option(help: "Random seed; fixes every trajectory and the split.")
    var seed: UInt64 = 0

    @Option(help: "Output directory (created; must not already hold a dataset).")
    var out: String

    @Option(name: .customLong("shard-size"), help: "Trajectories per shard file.")
    var shardSize: Int = 64

    @Option(help: "Output format: 'shards' (zstd shards + manifest.json) or 'png-folders' (the reference's <id>/<k>.png layout, with states.csv and data_split_dict.json).")
    var format: OutputFormat = .shards

    @Option(help: "Supersampling: samples per pixel axis on shape edges (1 disables anti-aliasing).")
    var samples: Int = 8

    @Option(help: "Worker threads per rank (0: the rank's share of the node's cores).")
    var threads: Int = 0

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(name: .customLong("dry-run"), help: "Simulate and render but write nothing (measures generation speed).")
    var dryRun = false

    /// Tests only: the disk is "full" past this many bytes per file (DebugHooks.limitFileSize).
    @Option(name: .customLong("debug-file-size-limit"), help: .hidden)
    var debugFileSizeLimit: Int?

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case shards
        case pngFolders = "png-folders"
    }

    func validate() throws {
        if let t = trajectories, t < 1 { throw ValidationError("--trajectories must be at least 1, got \(t)") }
        if let f = frames, f < 2 { throw ValidationError("--frames must be at least 2, got \(f)") }
        if let s = size, !(4...4096).contains(s) { throw ValidationError("--size must be in 4...4096, got \(s)") }
        if let c = channels, c != 1 && c != 3 { throw ValidationError("--channels must be 1 or 3, got \(c)") }
        if shardSize < 1 { throw ValidationError("--shard-size must be at least 1, got \(shardSize)") }
        if !(1...32).contains(samples) { throw ValidationError("--samples must be in 1...32, got \(samples)") }
        if threads < 0 { throw ValidationError("--threads must be ≥ 0, got \(threads)") }
        if out.isEmpty { throw ValidationError("--out must name a directory") }
        if dryRun { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { throw ValidationError("--out \(out) exists and is a file; give a directory") }
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
            if existing.contains("manifest.json") || existing.contains("description.json") {
                throw ValidationError("--out \(out) already holds a dataset; choose a new directory or delete it first")
            }
        }
    }

    func run() throws {
        let generator: DatasetGenerator
        do {
            generator = try system.generator(trajectories: trajectories, frames: frames, size: size, channels: channels,
                                             seed: seed, samplesPerAxis: samples)
        } catch let error as SimulationError {
            throw ValidationError(error.description)   // only option checks fail here
        }
        Communicator.runOrAbort { comm in try generate(generator, comm) }
    }

    private func generate(_ generator: DatasetGenerator, _ comm: Communicator) throws {
        if let debugFileSizeLimit { try DebugHooks.limitFileSize(to: debugFileSizeLimit) }
        let workers = threads > 0 ? threads : comm.computeBudget.threads
        let progress = GenerationProgress(label: "generate \(system.rawValue)", total: generator.trajectories, unit: "trajectories",
                                          framesPerUnit: generator.frames, ranks: comm.size, enabled: !quiet && comm.isRoot)
        progress.start(detail: "\(generator.trajectories) × \(generator.frames) frames, \(generator.size)×\(generator.size)×\(generator.channels), seed \(seed) → \(out) (\(dryRun ? "dry run" : format.rawValue)) on \(comm.size) rank(s) × \(workers) thread(s)")
        let flags = [system.rawValue, "\(generator.trajectories)", "\(generator.frames)", "\(generator.size)", "\(generator.channels)",
                     "\(seed)", "\(samples)", format.rawValue, "\(dryRun)"].joined(separator: " ")
        let job = DatasetWriteAcrossRanks(comm: comm, directory: out, description: generator.description,
                                          trajectories: generator.trajectories, trajectoriesPerShard: shardSize, job: flags)
        if dryRun {
            try job.agree()
            try job.inRounds(progress: progress) { ids in try generator.generate(ids: ids, threads: workers) { _ in } }
        } else {
            switch format {
            case .shards:
                try job.write(splits: generator.splits, progress: progress) { ids, consume in
                    try generator.generate(ids: ids, threads: workers, consume)
                }
            case .pngFolders:
                // states.csv and the split file list every trajectory: one writer.
                try DatasetWriteAcrossRanks.onRootAlone(comm, what: "the png-folders layout") {
                    let writer = try FrameFolderWriter(directory: out, description: generator.description)
                    try generator.generate(threads: workers, progress: progress.update) { try writer.append($0) }
                    try writer.finish(splits: generator.splits)
                }
            }
        }
        progress.finish()
    }
}

/// Progress on stderr: count, frames/s, rate and ETA, at most about once a second (and at the end).
/// Under mpirun only rank 0 prints it, for the whole job (the ranks add up their counts).
final class GenerationProgress {
    let label: String, total: Int, unit: String, framesPerUnit: Int, ranks: Int, enabled: Bool
    private let started = Stopwatch()
    private var lastPrint = -Double.infinity
    private var done = 0

    init(label: String, total: Int, unit: String, framesPerUnit: Int, ranks: Int = 1, enabled: Bool) {
        self.label = label; self.total = total; self.unit = unit; self.framesPerUnit = framesPerUnit
        self.ranks = ranks; self.enabled = enabled
    }

    func start(detail: String) { if enabled { log("\(label): \(detail)") } }

    func update(_ done: Int, _ total: Int) {
        self.done = done
        guard enabled else { return }
        let elapsed = started.seconds
        guard elapsed - lastPrint >= 1 || done == total else { return }
        lastPrint = elapsed
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        log("\(label): \(done)/\(total) \(unit), \(framesText(done, elapsed)), elapsed \(Self.clock(elapsed)), ETA \(Self.clock(eta))")
    }

    func finish() {
        guard enabled else { return }
        let elapsed = started.seconds
        log("\(label): done in \(Self.clock(elapsed)): \(framesText(done, elapsed))")
    }

    private func framesText(_ done: Int, _ elapsed: Double) -> String {
        let frames = done * framesPerUnit
        let rate = elapsed > 0 ? Double(frames) / elapsed : 0
        let perRank = ranks > 1 ? String(format: " (%.0f per rank)", rate / Double(ranks)) : ""
        return "\(frames) frames, \(String(format: "%.0f", rate)) frames/s on \(ranks) rank(s)\(perRank)"
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
