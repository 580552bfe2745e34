import ArgumentParser
import Bench
import Core
import Foundation

struct BenchODECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ode",
        abstract: "Iterations/s of latent Neural ODE training (MLP d→w→w→d, midpoint × 2, loss/h², Adam) at 1 and 2 threads.",
        discussion: """
            The reference setting: batch 20,000, width 256, d = 8, h = 0.01. Reports GFLOP/s against the \
            sgemm peak measured in the same run. With --torch, runs tools/bench_ode_torch.py at the same \
            settings, alternating with our runs (round by round), and prints ours / PyTorch per thread count. \
            With --deterministic, also times train-ode's step in the deterministic mode against the default \
            mode's, their steps alternated, and prints the mode's cost per thread count. \
            Timings wait for a quiet machine and repeat disturbed samples (medians).
            """)

    @Option(help: "Comma-separated thread counts.") var threads = "1,2"
    @Option(help: "Rows per iteration.") var batch = 20_000
    @Option(help: "Hidden width w.") var width = 256
    @Option(help: "Latent dimension d.") var dimension = 8
    @Option(help: "Substeps per frame.") var substeps = 2
    @Option(help: "Integrator: midpoint or rk4.") var method = "midpoint"
    @Option(help: "Timed samples per measurement (median reported).") var samples = 3
    @Option(help: "Alternating rounds (ours, then PyTorch, per thread count); medians over rounds.") var rounds = 1
    @Flag(help: "Also time PyTorch (tools/bench_ode_torch.py) and print the ratio.") var torch = false
    @Option(help: "Python interpreter for --torch.") var python = "python3"
    @Option(help: "Path of bench_ode_torch.py.") var torchScript = "tools/bench_ode_torch.py"
    @Option(help: "PyTorch iterations timed per round (median).") var torchIterations = 3
    @Option(help: "Longest wait for a quiet machine before each sample, seconds (0: don't wait; disturbed samples are still flagged).") var quietWait = 10.0
    @Option(help: "Rows per integrator chunk (default: the integrator's).") var chunkRows: Int?
    @Flag(help: "Also time the trainer's step in the deterministic mode against the default mode's (alternated) and print the mode's cost.")
    var deterministic = false
    @Option(help: "With --deterministic: the unit (default: train-ode's, the batch over its largest power-of-two factor up to 64).")
    var deterministicUnit: Int?
    @Flag(help: "Print one JSON object ({\"runs\": [...]}) instead of a table.") var json = false

    func run() throws {
        let threadCounts = try threads.split(separator: ",").map { s -> Int in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--threads: '\(s)' is not a positive integer") }
            return n
        }
        guard let m = FixedStepMethod(rawValue: method) else { throw ValidationError("--method: '\(method)' is not midpoint or rk4") }
        guard batch >= 1, width >= 1, dimension >= 1, substeps >= 1, rounds >= 1 else {
            throw ValidationError("--batch, --width, --dimension, --substeps and --rounds must be ≥ 1")
        }
        if deterministicUnit != nil && !deterministic { throw ValidationError("--deterministic-unit needs --deterministic") }
        if let u = deterministicUnit, u < 1 || batch % u != 0 {
            throw ValidationError("--deterministic-unit \(u) must be ≥ 1 and divide --batch \(batch)")
        }
        if torch && !FileManager.default.fileExists(atPath: torchScript) {
            throw ValidationError("--torch-script: \(torchScript) not found (run from the repository root or pass the path)")
        }
        var timer = GuardedTimer()
        timer.samples = samples
        timer.minSampleSeconds = 0   // one iteration (~1 s) per sample already resolves /proc/stat's ticks
        timer.warmups = 1
        timer.maxQuietWait = quietWait
        var bench = ODEBenchmark(batch: batch, width: width, dimension: dimension, method: m, substeps: substeps, timer: timer)
        bench.chunkRows = chunkRows
        var peakTimer = GuardedTimer()
        peakTimer.samples = 3
        peakTimer.maxQuietWait = quietWait
        var peaks: [Int: SgemmPeak.Result] = [:]
        for t in threadCounts { peaks[t] = SgemmPeak.measure(size: 1536, threads: t, timer: peakTimer) }
        var ours: [Int: [ODEBenchmark.Run]] = [:]
        var theirs: [Int: [Double]] = [:]
        var costs: [Int: [ODEBenchmark.DeterministicCost]] = [:]
        for _ in 0..<rounds {
            for t in threadCounts {
                ours[t, default: []].append(try bench.run(threads: t, peak: peaks[t]!))
                if torch {
                    theirs[t, default: []].append(try bench.torch(python: python, script: torchScript, threads: t, iterations: torchIterations))
                }
                if deterministic { costs[t, default: []].append(try bench.deterministicCost(threads: t, unit: deterministicUnit)) }
            }
        }
        // Every pair of every round pooled per thread count.
        let pooled: [ODEBenchmark.DeterministicCost] = threadCounts.compactMap { t in
            guard let list = costs[t], var r = list.first else { return nil }
            r.costs = list.flatMap(\.costs)
            r.cost = median(r.costs)
            r.default_step_seconds = median(list.map(\.default_step_seconds))
            r.deterministic_step_seconds = median(list.map(\.deterministic_step_seconds))
            r.clean_samples = list.map(\.clean_samples).reduce(0, +)
            r.samples = list.map(\.samples).reduce(0, +)
            return r
        }
        var runs: [ODEBenchmark.Run] = []
        for t in threadCounts {
            let list = ours[t]!
            // The round with the median iteration rate represents the thread count.
            var r = list.sorted { $0.iterations_per_second < $1.iterations_per_second }[list.count / 2]
            r.iterations_per_second = median(list.map(\.iterations_per_second))
            if let tl = theirs[t] {
                let torchRate = median(tl)
                r.torch_iterations_per_second = torchRate
                r.ratio_vs_torch = r.iterations_per_second / torchRate
            }
            runs.append(r)
        }
        if json {
            struct Report: Codable { var runs: [ODEBenchmark.Run]; var deterministic: [ODEBenchmark.DeterministicCost]?; var blas_core: String }
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = Report(runs: runs, deterministic: deterministic ? pooled : nil, blas_core: BLASThreads.coreName)
            print(String(decoding: try e.encode(report), as: UTF8.self))
            return
        }
        print("latent ODE training: MLP \(dimension)→\(width)→\(width)→\(dimension), batch \(batch), \(method) × \(substeps), BLAS \(BLASThreads.coreName)")
        print("threads   it/s    step ms   GFLOP/s   sgemm peak   of peak   PyTorch it/s   ours/PyTorch")
        for r in runs {
            let torchText = r.torch_iterations_per_second.map { String(format: "%12.2f   %11.2f×", $0, r.ratio_vs_torch!) } ?? "           —              —"
            print(String(format: "%7d  %6.2f  %8.1f  %8.1f  %11.1f  %7.1f%%  ", r.threads, r.iterations_per_second, r.step_seconds * 1000,
                         r.gflops, r.sgemm_peak_gflops, r.peak_fraction * 100) + torchText
                  + (r.clean_samples < r.samples ? "  (machine busy)" : ""))
        }
        guard deterministic else { return }
        print("deterministic mode (train-ode's step, alternated with the default mode's; \(samples) pairs × \(rounds) round(s))")
        print("threads   unit   default ms   deterministic ms    cost   (pairs: min … max)")
        for r in pooled {
            print(String(format: "%7d  %5d  %11.1f  %17.1f  %+6.1f%%   (%+.1f … %+.1f%%)", r.threads, r.deterministic_unit,
                         r.default_step_seconds * 1000, r.deterministic_step_seconds * 1000, r.cost * 100,
                         (r.costs.min() ?? .nan) * 100, (r.costs.max() ?? .nan) * 100)
                  + (r.clean_samples < r.samples ? "  (machine busy)" : ""))
        }
    }
}
