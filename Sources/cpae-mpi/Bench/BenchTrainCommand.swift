import ArgumentParser
import Bench
import Core
import Foundation

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Samples/s of the full training step (forward, backward, regularizer, Adam) at 1 and 2 threads.",
        discussion: """
            Runs the `paper` CpAE (3×128×256, K = 12, d = 8) at batch --batch on random data, for the \
            reconstruction objective (one encoder and one decoder pass per sample, as PyTorch's peer figures) \
            and the reference objective (two of each, VPNet, latent terms), and reports the regularizer's \
            share of the step. Timings wait for a quiet machine and repeat disturbed samples (medians).
            """)

    @OptionGroup var model: ModelOptions
    @Option(help: "Samples per step.") var batch = 16
    @Option(help: "Comma-separated OpenBLAS thread counts.") var threads = "1,2"
    @Option(help: "Comma-separated objectives (reconstruction, reference).") var objectives = "reconstruction,reference"
    @Option(help: "Timed samples per measurement (median reported).") var samples = 3
    @Flag(help: "Print one JSON object ({\"runs\": [...]}) instead of a table.") var json = false

    func run() throws {
        var config = try model.config()
        if model.latent == nil && model.preset == .paper { config.latent = 8 }
        let threadCounts = try threads.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--threads: '\(s)' is not a positive integer") }
            return n
        }
        let objs = try objectives.split(separator: ",").map { s -> Objective in
            guard let o = Objective(rawValue: String(s)) else { throw ValidationError("--objectives: unknown objective '\(s)'") }
            return o
        }
        var timer = GuardedTimer()
        timer.samples = samples
        timer.minSampleSeconds = 0
        timer.warmups = 1
        let bench = StepBenchmark(config: config, batch: batch, timer: timer)
        var runs: [StepBenchmark.Run] = []
        if !json {
            print("model \(config.architecture.rawValue) \(config.inputShape.map(String.init).joined(separator: "×")), batch \(batch), BLAS \(BLASThreads.coreName)")
            print("threads  objective        samples/s   step ms   GFLOP/s   regularizer")
        }
        for t in threadCounts {
            for o in objs {
                let r = try bench.run(threads: t, objective: o)
                runs.append(r)
                if !json {
                    print(String(format: "%7d  %-15@  %9.2f  %8.1f  %8.1f   %.2f%% (%.2f ms)%@", r.threads, r.objective as NSString,
                                 r.samples_per_second, r.step_seconds * 1000, r.gflops, r.regularizer_share * 100,
                                 r.regularizer_seconds * 1000, r.clean_samples < r.samples ? "  (machine busy)" : ""))
                }
            }
        }
        if json {
            struct Report: Codable { var runs: [StepBenchmark.Run] }
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(Report(runs: runs)), as: UTF8.self))
        }
    }
}
