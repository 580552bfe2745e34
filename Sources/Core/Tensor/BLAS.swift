import COpenBLAS
import Glibc

/// Row-major single-precision GEMM: C = alpha·op(A)·op(B) + beta·C, with op(A) m×k and op(B) k×n.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    var beta = beta
    if beta == 0 && BLASKernels.clearsWithScalarStores {
        BLASKernels.clear(c, rows: m, columns: n, ldc: ldc)
        beta = 1
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// What the wrapper knows about the kernel set OpenBLAS picked for this CPU.
///
/// For beta = 0 OpenBLAS first clears C in a pass of its own, then its kernel adds alpha·A·B into
/// it. Debian's OpenBLAS 0.3.21 does that pass, on the kernel set it names `Zen` (every Zen 1–3
/// CPU), with one 4-byte scalar store per float (`sgemm_beta_ZEN`; Haswell's and SkylakeX's are
/// vectorised): 4.8% of a 1-thread training step on Zen 3 (perf, 2026-12-06). There the wrapper
/// clears C itself (`memset`, vectorised) and asks for beta = 1, which skips OpenBLAS's pass. The
/// kernel then adds to the same zeros, so the result is the same bits (that kernel set has no
/// small-matrix path that would store alpha·A·B directly).
public enum BLASKernels {
    /// True where OpenBLAS's own clearing is the scalar one.
    public static let clearsWithScalarStores = scalarClearingCores.contains(BLASThreads.coreName)

    /// True where OpenBLAS has small-matrix sgemm kernels, which need neither packing nor a buffer
    /// from its shared pool (its SkylakeX set and the sets built on it; Zen 4 gets `Cooperlake`).
    public static let hasSmallMatrixKernels = smallMatrixCores.contains(BLASThreads.coreName)

    static let smallMatrixCores: Set<String> = ["SkylakeX", "Cooperlake", "SapphireRapids"]

    /// Kernel sets of OpenBLAS 0.3.21 whose `sgemm_beta` stores one float at a time (checked by
    /// disassembling `sgemm_beta_<CORE>` in Debian's libopenblasp-r0.3.21.so).
    static let scalarClearingCores: Set<String> = ["Zen", "Sandybridge"]

    /// Sets the m×n block of a row-major matrix with leading dimension ldc to +0.
    @usableFromInline
    static func clear(_ c: UnsafeMutablePointer<Float>, rows m: Int, columns n: Int, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if ldc == n {
            memset(c, 0, m * n * MemoryLayout<Float>.stride)
        } else {
            for i in 0..<m { memset(c + i * ldc, 0, n * MemoryLayout<Float>.stride) }
        }
    }
}

/// Threads OpenBLAS may use in this process (1 per rank in multi-rank runs).
public enum BLASThreads {
    public static func set(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var current: Int { Int(openblas_get_num_threads()) }
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
