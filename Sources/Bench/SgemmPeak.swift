import Core
import Foundation

/// The machine's achievable FP32 GEMM rate, measured in the same run as the benchmarks that are
/// quoted as a fraction of it (clocks and neighbours vary between runs; ratios from one run don't).
public enum SgemmPeak {
    public struct Result: Sendable, Codable {
        public let size: Int
        public let threads: Int
        /// GFLOP/s from the fastest guarded sample (the fairest stand-in for "peak").
        public let gflops: Double
        /// GFLOP/s from the median sample.
        public let medianGflops: Double
        public let timing: GuardedTimer.Measurement
    }

    /// Square n×n×n row-major sgemm on `threads` OpenBLAS threads (restored afterwards).
    public static func measure(size n: Int = 1536, threads: Int = 1, timer: GuardedTimer = GuardedTimer()) -> Result {
        let saved = BLASThreads.current
        BLASThreads.set(threads)
        defer { BLASThreads.set(saved) }
        var rng = RNG(seed: 1)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(n * n) { a[i] = rng.uniformFloat() - 0.5; b[i] = rng.uniformFloat() - 0.5 }
        let m = timer.measure {
            sgemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
        }
        let flops = 2 * Double(n) * Double(n) * Double(n)
        return Result(size: n, threads: threads, gflops: flops / m.best * 1e-9,
                      medianGflops: flops / m.median * 1e-9, timing: m)
    }
}
