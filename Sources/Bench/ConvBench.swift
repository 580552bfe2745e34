import Core
import Foundation

/// One convolution layer of the full-size CpAE to benchmark, at its training input size.
public struct ConvBenchSpec: Sendable {
    public enum Kind: String, Sendable, Codable { case conv, transposed }
    public let name: String
    public let kind: Kind
    public let inChannels: Int, outChannels: Int
    public let height: Int, width: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    /// The three 12×12 encoder layers the performance floor is set on.
    public let largeKernel: Bool
    /// Also time backward without the input gradient (a network's first layer does not need it).
    public let benchWithoutInputGradient: Bool

    public init(_ name: String, _ kind: Kind, _ cin: Int, _ cout: Int, input: (Int, Int), kernel: (Int, Int),
                stride: (Int, Int), padding: (Int, Int), largeKernel: Bool = false, withoutDx: Bool = false) {
        self.name = name; self.kind = kind; inChannels = cin; outChannels = cout
        height = input.0; width = input.1
        self.kernel = kernel; self.stride = stride; self.padding = padding
        self.largeKernel = largeKernel; benchWithoutInputGradient = withoutDx
    }

    /// The full-size CpAE's convolutions (docs/method.md §Architectures), input 3×128×256.
    public static let cpae: [ConvBenchSpec] = [
        .init("enc.s1a 12x12", .conv, 3, 16, input: (128, 256), kernel: (12, 12), stride: (2, 2), padding: (5, 5),
              largeKernel: true, withoutDx: true),
        .init("enc.s2a 12x12", .conv, 16, 32, input: (64, 128), kernel: (12, 12), stride: (2, 2), padding: (5, 5),
              largeKernel: true),
        .init("enc.s3a 12x12", .conv, 32, 64, input: (32, 64), kernel: (12, 12), stride: (2, 2), padding: (5, 5),
              largeKernel: true),
        .init("enc.s1b 3x3", .conv, 16, 16, input: (64, 128), kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        .init("enc.s2b 3x3", .conv, 32, 32, input: (32, 64), kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        .init("enc.s3b 3x3", .conv, 64, 64, input: (16, 32), kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        .init("enc.s4a 4x4", .conv, 64, 64, input: (16, 32), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("enc.s8a 3x4", .conv, 64, 64, input: (1, 2), kernel: (3, 4), stride: (1, 2), padding: (1, 1)),
        .init("dec.8 3x4", .transposed, 64, 64, input: (1, 1), kernel: (3, 4), stride: (1, 2), padding: (1, 1)),
        .init("dec.7 4x4", .transposed, 67, 64, input: (1, 2), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.6 4x4", .transposed, 67, 64, input: (2, 4), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.5 4x4", .transposed, 67, 64, input: (4, 8), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.4 4x4", .transposed, 67, 64, input: (8, 16), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.3 4x4", .transposed, 67, 32, input: (16, 32), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.2 4x4", .transposed, 35, 16, input: (32, 64), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.1 4x4", .transposed, 19, 3, input: (64, 128), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        .init("dec.side2 4x4", .transposed, 3, 3, input: (32, 64), kernel: (4, 4), stride: (2, 2), padding: (1, 1)),
        // The side branches' 3×3 "predict" convolutions to C channels (the two largest maps).
        .init("dec.pred2 3x3", .conv, 35, 3, input: (32, 64), kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
        .init("dec.pred3 3x3", .conv, 67, 3, input: (16, 32), kernel: (3, 3), stride: (1, 1), padding: (1, 1)),
    ]
}

/// Timings of one layer. GFLOP/s count the direct convolution's FLOPs: 2·multiplyAdds per sample
/// forward, twice that for backward with the input gradient, once without it; so an algorithm that
/// does fewer multiplications (Winograd) shows as an effective rate, above 100% of peak if it is fast.
public struct ConvBenchResult: Sendable, Codable {
    public let name: String
    /// What ran: `direct` or `winograd` (the requested algorithm resolved for this layer's shape).
    public let algorithm: String
    /// Medians of one batch's forward and backward (with dx), seconds.
    public let forwardSeconds: Double, backwardSeconds: Double
    public let kind: ConvBenchSpec.Kind
    public let kernel: [Int], stride: [Int], padding: [Int]
    public let input: [Int], output: [Int]
    public let largeKernel: Bool
    public let forwardGflopPerBatch: Double
    public let forwardMs: Double, backwardMs: Double
    public let forwardGflops: Double, backwardGflops: Double
    public let forwardPeakFraction: Double, backwardPeakFraction: Double
    public let backwardNoDxMs: Double?, backwardNoDxGflops: Double?, backwardNoDxPeakFraction: Double?
    /// Clean (undisturbed) samples out of all samples, over the forward and backward timings.
    public let cleanSamples: Int, samples: Int
}

/// Summary of the three 12×12 layers weighted by FLOPs (total FLOPs / total time).
public struct LargeKernelSummary: Sendable, Codable {
    public let forwardPeakFraction: Double
    /// Backward with dx on all three layers.
    public let backwardPeakFraction: Double
    /// Forward + backward as in training (first layer without dx).
    public let trainingPeakFraction: Double
    /// Forward + backward with dx everywhere.
    public let trainingWithFirstDxPeakFraction: Double
    /// The lowest single fraction among the 12×12 forward/backward timings.
    public let minimumPeakFraction: Double
}

public struct LayerBenchReport: Sendable, Codable {
    public let batch: Int
    public let threads: Int
    /// The requested algorithm (`auto`, `direct`, `winograd`).
    public let algorithm: String
    public let blasCore: String
    /// Single-thread square-sgemm rate measured in this run.
    public let sgemmPeakGflops: Double
    /// The same at `threads` threads: the reference of every `*_peak_fraction` in this report.
    public let sgemmPeakThreadsGflops: Double
    public let sgemmSize: Int
    public let layers: [ConvBenchResult]
    public let largeKernel: LargeKernelSummary?
    /// False when some sample was taken while other processes used ≥ 0.1 core.
    public let machineQuiet: Bool
}

public enum ConvBench {
    /// Benchmarks `specs` at batch `batch` on `threads` OpenBLAS threads. `progress` gets one line
    /// per finished measurement (for a human watching a slow, guarded run).
    public static func run(specs: [ConvBenchSpec] = ConvBenchSpec.cpae, batch: Int, threads: Int,
                           algorithm: ConvAlgorithm = .auto, timer: GuardedTimer = GuardedTimer(), sgemmSize: Int = 1536,
                           progress: (String) -> Void = { _ in }) -> LayerBenchReport {
        let peak1 = SgemmPeak.measure(size: sgemmSize, threads: 1, timer: timer)
        progress("sgemm \(sgemmSize)³ on 1 thread: \(fmt(peak1.gflops)) GFLOP/s (median \(fmt(peak1.medianGflops)))")
        var peakT = peak1
        if threads != 1 {
            peakT = SgemmPeak.measure(size: sgemmSize, threads: threads, timer: timer)
            progress("sgemm \(sgemmSize)³ on \(threads) threads: \(fmt(peakT.gflops)) GFLOP/s")
        }
        let saved = BLASThreads.current
        BLASThreads.set(1)   // the layers' own workers are the threads (see ComputeBudget)
        defer { BLASThreads.set(saved) }
        var results: [ConvBenchResult] = []
        for (i, spec) in specs.enumerated() {
            let r = bench(spec, batch: batch, budget: ComputeBudget(threads: threads), algorithm: algorithm,
                          peak: peakT.gflops, timer: timer, seed: UInt64(i + 1))
            results.append(r)
            progress(describe(r))
        }
        return LayerBenchReport(batch: batch, threads: threads, algorithm: algorithm.rawValue, blasCore: BLASThreads.coreName,
                                sgemmPeakGflops: peak1.gflops, sgemmPeakThreadsGflops: peakT.gflops, sgemmSize: sgemmSize,
                                layers: results, largeKernel: summarize(results, peak: peakT.gflops),
                                machineQuiet: peak1.timing.allClean && peakT.timing.allClean
                                    && results.allSatisfy { $0.cleanSamples == $0.samples })
    }

    static func bench(_ spec: ConvBenchSpec, batch: Int, budget: ComputeBudget, algorithm: ConvAlgorithm, peak: Double,
                      timer: GuardedTimer, seed: UInt64) -> ConvBenchResult {
        let store = ParameterStore(seed: seed)
        var rng = RNG(seed: seed &+ 1000)
        let x = Tensor(uninitialized: [batch, spec.inChannels, spec.height, spec.width])
        for i in 0..<x.count { x[i] = rng.uniformFloat() * 2 - 1 }
        let forward: () -> Tensor, backward: (Tensor, Bool) -> Void
        let macs: Int
        let resolved: ConvAlgorithm
        switch spec.kind {
        case .conv:
            let l = Conv2d(store: store, name: "l", inChannels: spec.inChannels, outChannels: spec.outChannels,
                           kernel: spec.kernel, stride: spec.stride, padding: spec.padding)
            l.budget = budget
            l.algorithm = algorithm
            resolved = l.resolvedAlgorithm(height: spec.height, width: spec.width)
            forward = { l.forward(x) }
            backward = { dy, dx in l.backward(dy, input: x, inputGradient: dx) }
            macs = l.multiplyAdds(height: spec.height, width: spec.width)
        case .transposed:
            let l = ConvTranspose2d(store: store, name: "l", inChannels: spec.inChannels, outChannels: spec.outChannels,
                                    kernel: spec.kernel, stride: spec.stride, padding: spec.padding)
            l.budget = budget
            l.algorithm = algorithm
            resolved = l.resolvedAlgorithm(height: spec.height, width: spec.width)
            forward = { l.forward(x) }
            backward = { dy, dx in l.backward(dy, input: x, inputGradient: dx) }
            macs = l.multiplyAdds(height: spec.height, width: spec.width)
        }
        let y = forward()
        let dy = Tensor(uninitialized: y.shape)
        for i in 0..<dy.count { dy[i] = rng.uniformFloat() * 2 - 1 }
        let gflop = 2 * Double(macs) * Double(batch) * 1e-9
        let f = timer.measure { _ = forward() }
        let b = timer.measure { backward(dy, true) }
        let b0 = spec.benchWithoutInputGradient ? timer.measure { backward(dy, false) } : nil
        let fr = gflop / f.median, br = 2 * gflop / b.median
        let b0r = b0.map { gflop / $0.median }
        let all = [f, b] + (b0.map { [$0] } ?? [])
        return ConvBenchResult(
            name: spec.name, algorithm: resolved.rawValue, forwardSeconds: f.median, backwardSeconds: b.median,
            kind: spec.kind, kernel: [spec.kernel.0, spec.kernel.1], stride: [spec.stride.0, spec.stride.1],
            padding: [spec.padding.0, spec.padding.1], input: [spec.inChannels, spec.height, spec.width],
            output: Array(y.shape.dropFirst()), largeKernel: spec.largeKernel, forwardGflopPerBatch: gflop,
            forwardMs: f.median * 1e3, backwardMs: b.median * 1e3, forwardGflops: fr, backwardGflops: br,
            forwardPeakFraction: fr / peak, backwardPeakFraction: br / peak,
            backwardNoDxMs: b0.map { $0.median * 1e3 }, backwardNoDxGflops: b0r, backwardNoDxPeakFraction: b0r.map { $0 / peak },
            cleanSamples: all.reduce(0) { $0 + $1.cleanSamples }, samples: all.reduce(0) { $0 + $1.samples.count })
    }

    static func summarize(_ rs: [ConvBenchResult], peak: Double) -> LargeKernelSummary? {
        let large = rs.filter(\.largeKernel)
        guard !large.isEmpty else { return nil }
        func rate(_ flops: [Double], _ ms: [Double]) -> Double { flops.reduce(0, +) / (ms.reduce(0, +) * 1e-3) / peak }
        let g = large.map(\.forwardGflopPerBatch)
        let fwd = rate(g, large.map(\.forwardMs))
        let bwd = rate(g.map { 2 * $0 }, large.map(\.backwardMs))
        // Training: the first 12×12 layer (the network input's) skips dx.
        var trainFlops: [Double] = [], trainMs: [Double] = []
        for (i, r) in large.enumerated() {
            trainFlops.append(r.forwardGflopPerBatch); trainMs.append(r.forwardMs)
            if i == 0, let ms = r.backwardNoDxMs {
                trainFlops.append(r.forwardGflopPerBatch); trainMs.append(ms)
            } else {
                trainFlops.append(2 * r.forwardGflopPerBatch); trainMs.append(r.backwardMs)
            }
        }
        let train = rate(trainFlops, trainMs)
        let trainAll = rate(g.map { 3 * $0 }, zip(large.map(\.forwardMs), large.map(\.backwardMs)).map { $0 + $1 })
        let minimum = large.flatMap { [$0.forwardPeakFraction, $0.backwardPeakFraction] + ($0.backwardNoDxPeakFraction.map { [$0] } ?? []) }.min()!
        return LargeKernelSummary(forwardPeakFraction: fwd, backwardPeakFraction: bwd, trainingPeakFraction: train,
                                  trainingWithFirstDxPeakFraction: trainAll, minimumPeakFraction: minimum)
    }

    public static func describe(_ r: ConvBenchResult) -> String {
        var s = "\(r.name.padding(toLength: 15, withPad: " ", startingAt: 0)) \(r.algorithm.padding(toLength: 8, withPad: " ", startingAt: 0)) \(r.input) → \(r.output)  "
            + "fwd \(fmt(r.forwardMs)) ms \(fmt(r.forwardGflops)) GFLOP/s (\(pct(r.forwardPeakFraction)))  "
            + "bwd \(fmt(r.backwardMs)) ms \(fmt(r.backwardGflops)) GFLOP/s (\(pct(r.backwardPeakFraction)))"
        if let ms = r.backwardNoDxMs, let g = r.backwardNoDxGflops, let f = r.backwardNoDxPeakFraction {
            s += "  bwd w/o dx \(fmt(ms)) ms \(fmt(g)) GFLOP/s (\(pct(f)))"
        }
        if r.cleanSamples < r.samples { s += "  [\(r.samples - r.cleanSamples)/\(r.samples) samples disturbed]" }
        return s
    }

    public static func fmt(_ x: Double) -> String { String(format: "%.1f", x) }
    public static func pct(_ x: Double) -> String { String(format: "%.0f%%", 100 * x) }
}
