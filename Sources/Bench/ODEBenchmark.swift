import Core
import Foundation

/// Times the latent Neural ODE's training iteration at the reference settings (docs/method.md
/// §Latent dynamics: MLP d → w → w → d, batch 20,000, explicit midpoint with 2 substeps,
/// h = 0.01, loss MSE/h², Adam), as `cpae-mpi bench ode` reports it.
///
/// One timed iteration = zero gradients, loss and gradient of the whole batch (forward through
/// every stage, backward through every stage), one Adam update — what the trainer does per step.
public struct ODEBenchmark {
    public struct Run: Codable, Sendable {
        public var threads: Int
        public var batch: Int
        public var width: Int
        public var dimension: Int
        public var method: String
        public var substeps: Int
        public var iterations_per_second: Double
        public var step_seconds: Double
        /// GEMM FLOPs of the iteration (2 per multiply-add; each stage's backward = 2× its forward) per second.
        public var gflops: Double
        /// Square-sgemm GFLOP/s on the same thread count, measured in the same run.
        public var sgemm_peak_gflops: Double
        public var peak_fraction: Double
        public var clean_samples: Int
        public var samples: Int
        /// PyTorch's iterations/s at the same settings (with --torch), and ours / PyTorch's.
        public var torch_iterations_per_second: Double?
        public var ratio_vs_torch: Double?
    }

    public var batch: Int
    public var width: Int
    public var dimension: Int
    public var method: FixedStepMethod
    public var substeps: Int
    public var frameStep: Float
    public var timer: GuardedTimer
    /// Rows per chunk of the integrator (nil: its default).
    public var chunkRows: Int? = nil

    public init(batch: Int = 20_000, width: Int = 256, dimension: Int = 8, method: FixedStepMethod = .midpoint,
                substeps: Int = 2, frameStep: Float = 0.01, timer: GuardedTimer = GuardedTimer()) {
        self.batch = batch
        self.width = width
        self.dimension = dimension
        self.method = method
        self.substeps = substeps
        self.frameStep = frameStep
        self.timer = timer
    }

    /// FLOPs of one training iteration (GEMMs only: the element-wise work is O(batch·width), 1/width of it).
    public func flopsPerIteration(field: VectorField) -> Double {
        let evaluations = Double(method.stages * substeps)
        return 2 * 3 * evaluations * Double(field.multiplyAddsPerRow) * Double(batch)
    }

    /// Times the iteration on `threads` workers; `peak` is the same-run sgemm peak at that thread count.
    public func run(threads: Int, peak: SgemmPeak.Result) throws -> Run {
        let field = try MLPVectorField(dimension: dimension, hiddenWidths: [width, width], seed: 1)
        let model = try FieldDynamics(field: field, frameStep: frameStep, method: method, substeps: substeps,
                                      budget: ComputeBudget(threads: threads))
        if let chunkRows { model.integrator.chunkRows = chunkRows }
        let adam = Adam(store: model.store)
        var rng = RNG(seed: 2)
        let n = batch * dimension
        let starts = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let targets = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { starts.deallocate(); targets.deallocate() }
        for i in 0..<n {
            starts[i] = Float(rng.normal())
            targets[i] = starts[i] + frameStep * Float(rng.normal())   // one frame's motion, like latent pairs
        }
        BLASThreads.set(1)   // the integrator's workers are the threads (see ComputeBudget)
        let store = model.store
        let m = timer.measure {
            store.zeroGradients()
            model.lossAndGradient(starts: UnsafePointer(starts), targets: [UnsafePointer(targets)], rows: batch, startGradient: nil)
            adam.update(store, learningRate: 0.01)
        }
        let step = m.medianClean.isFinite ? m.medianClean : m.median
        let gflops = flopsPerIteration(field: field) / step / 1e9
        return Run(threads: threads, batch: batch, width: width, dimension: dimension, method: method.rawValue,
                   substeps: substeps, iterations_per_second: 1 / step, step_seconds: step, gflops: gflops,
                   sgemm_peak_gflops: peak.gflops, peak_fraction: gflops / peak.gflops,
                   clean_samples: m.cleanSamples, samples: m.samples.count,
                   torch_iterations_per_second: nil, ratio_vs_torch: nil)
    }

    /// PyTorch's figure at the same settings: runs `script` (tools/bench_ode_torch.py) with
    /// `python`, which prints one JSON object with "iterations_per_second".
    public func torch(python: String, script: String, threads: Int, iterations: Int) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script, "--threads", String(threads), "--batch", String(batch), "--width", String(width),
                       "--dimension", String(dimension), "--substeps", String(substeps), "--h", String(frameStep),
                       "--iterations", String(iterations), "--method", method.rawValue]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw BenchError("bench ode --torch: \(python) \(script) exited with \(p.terminationStatus): "
                             + String(decoding: errData, as: UTF8.self).suffix(600)
                             + " (install torch with `pip install torch`, or pass --python)")
        }
        guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let ips = obj["iterations_per_second"] as? Double else {
            throw BenchError("bench ode --torch: \(script) printed no JSON line with \"iterations_per_second\"")
        }
        return ips
    }
}

/// A benchmark harness failure, with what to do about it.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
