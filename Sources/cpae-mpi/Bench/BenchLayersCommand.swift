import ArgumentParser
import Bench
import Core
import Foundation

struct BenchLayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Time the CpAE's convolution layers (forward, backward) against this machine's sgemm peak.",
        discussion: """
            Measures square sgemm on one thread (and on --threads threads) in the same run, then every \
            full-size CpAE convolution at batch --batch. GFLOP/s count the direct convolution's FLOPs \
            (backward = 2× forward with dx), so a fast algorithm shows above 100% of the peak. Timings \
            wait for the machine to be quiet (others < 0.1 core) and repeat disturbed samples; medians \
            are reported.
            """)

    @Option(help: "Samples per batch.") var batch = 16
    @Option(help: "OpenBLAS threads (1 or 2 on this machine).") var threads = 1
    @Option(help: "Timed samples per measurement (median reported).") var samples = 5
    @Option(help: "Longest wait for a quiet machine before each sample, seconds.") var maxWait: Double = 10
    @Option(help: "Only layers whose name contains this (e.g. 12x12).") var filter: String?
    @Option(help: "Comma-separated convolution algorithms to time, each over every layer (auto, direct, winograd, shifted).")
    var algorithm = "direct,auto"
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be in 1...64, got \(threads)") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1, got \(samples)") }
        guard maxWait >= 0 else { throw ValidationError("--max-wait must be non-negative, got \(maxWait)") }
    }

    func run() throws {
        let algorithms = try algorithm.split(separator: ",").map { name -> ConvAlgorithm in
            guard let a = ConvAlgorithm(rawValue: String(name)) else {
                throw ValidationError("--algorithm: unknown algorithm '\(name)' (choose from auto, direct, winograd, shifted)")
            }
            return a
        }
        var timer = GuardedTimer()
        timer.samples = samples
        timer.maxQuietWait = maxWait
        let specs = ConvBenchSpec.cpae.filter { filter == nil || $0.name.contains(filter!) }
        guard !specs.isEmpty else { throw ValidationError("--filter '\(filter!)' matches no layer") }
        var reports: [LayerBenchReport] = []
        for a in algorithms {
            if !json { print("algorithm \(a)") }
            reports.append(ConvBench.run(specs: specs, batch: batch, threads: threads, algorithm: a, timer: timer) { line in
                if json { FileHandle.standardError.write((line + "\n").data(using: .utf8)!) } else { print(line) }
            })
        }
        if json {
            struct Output: Encodable { let reports: [LayerBenchReport] }
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(Output(reports: reports)), as: UTF8.self))
            return
        }
        for report in reports { summarize(report) }
    }

    private func summarize(_ report: LayerBenchReport) {
        print("algorithm \(report.algorithm): forward + backward of all layers \(ConvBench.fmt(report.layers.reduce(0) { $0 + $1.forwardMs + $1.backwardMs })) ms")
        if let s = report.largeKernel {
            print("12×12 layers, FLOP-weighted, fraction of the \(report.threads)-thread sgemm peak "
                  + "\(ConvBench.fmt(report.sgemmPeakThreadsGflops)) GFLOP/s:")
            print("  forward \(ConvBench.pct(s.forwardPeakFraction)), backward (dW+dx) \(ConvBench.pct(s.backwardPeakFraction)), "
                  + "training (first layer without dx) \(ConvBench.pct(s.trainingPeakFraction)), "
                  + "with first-layer dx \(ConvBench.pct(s.trainingWithFirstDxPeakFraction)), lowest single \(ConvBench.pct(s.minimumPeakFraction))")
        }
        if !report.machineQuiet { print("note: some samples were taken while other processes used ≥ 0.1 core") }
    }
}
