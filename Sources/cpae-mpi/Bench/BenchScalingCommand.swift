import ArgumentParser
import Bench
import Core
import Distributed
import Foundation

struct BenchScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Strong and weak scaling of the training step over MPI ranks (launches mpirun itself).",
        discussion: """
            For each rank count, runs the real training step (synchronized BatchNorm, one allreduce of the flat \
            gradient, Adam) on synthetic in-memory data with 1 BLAS thread per rank. Strong scaling keeps the \
            global batch (--global-batch) fixed; weak scaling keeps the per-rank batch (--batch-per-rank) fixed. \
            Efficiency: strong t(1)/(N·t(N)); weak samples/s(N)/(N·samples/s(1)). The allreduce share is the \
            gradient allreduce's time; the wait share is time spent in a barrier before it, waiting for the \
            slowest rank. Each figure is the median over --steps steps of the slowest rank.
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Comma-separated rank counts.") var ranks = "1,2"
    @Option(name: .customLong("global-batch"), help: "Global batch of the strong-scaling runs.") var globalBatch = 16
    @Option(name: .customLong("batch-per-rank"), help: "Per-rank batch of the weak-scaling runs.") var batchPerRank = 16
    @Option(help: "Timed steps per run.") var steps = 4
    @Option(help: "Untimed warm-up steps per run.") var warmup = 1
    @Option(help: "Extra arguments for mpirun, space-separated.") var mpirunArgs = "--oversubscribe"
    @Flag(help: "Print one JSON object ({\"runs\": [...]}).") var json = false

    struct Run: Codable {
        var mode: String
        var ranks: Int
        var samples_per_second: Double
        var efficiency: Double
        var allreduce_share: Double
        var wait_share: Double
        var step_seconds: Double
        var allreduce_seconds: Double
        var global_batch: Int
        var local_batch: Int
    }

    func run() throws {
        let counts = try ranks.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--ranks: '\(s)' is not a positive integer") }
            return n
        }
        let config = try model.config()
        var runs: [Run] = []
        var baseStrong: ScalingWorker.Result?, baseWeak: ScalingWorker.Result?
        for mode in ["strong", "weak"] {
            for n in counts {
                let local = mode == "strong" ? globalBatch / n : batchPerRank
                guard mode == "weak" || globalBatch % n == 0 else {
                    throw UserError("--global-batch \(globalBatch) does not divide over \(n) ranks")
                }
                if mode == "weak" && n == counts.first && local == globalBatch / n, let s = baseStrong, s.ranks == n {
                    baseWeak = s   // the same run as the strong baseline
                }
                let r: ScalingWorker.Result
                if mode == "weak", let b = baseWeak, b.ranks == n { r = b } else { r = try launch(ranks: n, localBatch: local) }
                if mode == "strong" && baseStrong == nil { baseStrong = r }
                if mode == "weak" && baseWeak == nil { baseWeak = r }
                let base = (mode == "strong" ? baseStrong : baseWeak)!
                let efficiency = mode == "strong"
                    ? base.step_seconds * Double(base.ranks) / (Double(n) * r.step_seconds)
                    : r.samples_per_second * Double(base.ranks) / (Double(n) * base.samples_per_second)
                runs.append(Run(mode: mode, ranks: n, samples_per_second: r.samples_per_second, efficiency: efficiency,
                                allreduce_share: r.allreduce_share, wait_share: r.wait_share, step_seconds: r.step_seconds,
                                allreduce_seconds: r.allreduce_seconds, global_batch: r.global_batch, local_batch: r.local_batch))
                if !json {
                    print(String(format: "%@  np %2d  batch %3d (%3d/rank)  %7.2f samples/s  efficiency %5.1f%%  allreduce %5.2f%% (%.2f ms)  waiting %5.2f%%",
                                 mode as NSString, n, r.global_batch, r.local_batch, r.samples_per_second, efficiency * 100,
                                 r.allreduce_share * 100, r.allreduce_seconds * 1000, r.wait_share * 100))
                }
            }
        }
        if json {
            struct Report: Codable { var model: ModelConfig; var runs: [Run] }
            let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(Report(model: config, runs: runs)), as: UTF8.self))
        }
    }

    private func launch(ranks n: Int, localBatch: Int) throws -> ScalingWorker.Result {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var args = ["mpirun"] + mpirunArgs.split(separator: " ").map(String.init) + ["-np", "\(n)", exe, "bench", "scaling-worker",
                    "--local-batch", "\(localBatch)", "--steps", "\(steps)", "--warmup", "\(warmup)"]
        args += model.arguments
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw UserError("the \(n)-rank run failed (exit \(p.terminationStatus)): \(args.joined(separator: " "))")
        }
        return try JSONDecoder().decode(ScalingWorker.Result.self, from: Data(line.utf8))
    }
}

/// The per-rank half of `bench scaling`, launched by it under mpirun.
struct BenchScalingWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scaling-worker", abstract: "(internal)", shouldDisplay: false)

    @OptionGroup var model: ModelOptions
    @Option(name: .customLong("local-batch")) var localBatch: Int
    @Option var steps: Int
    @Option var warmup: Int

    func run() throws {
        let config = try model.config()
        Communicator.runOrAbort { comm in
            if let r = try ScalingWorker(config: config, localBatch: localBatch, steps: steps, warmup: warmup).run(comm) {
                print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self))
            }
        }
    }
}
