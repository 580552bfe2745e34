import XCTest
import COpenBLAS
@testable import Core

/// The sgemm wrapper clears C itself and asks OpenBLAS for beta = 1 on the kernel sets whose own
/// clearing is scalar (`BLASKernels`). That is only a speed change if it gives OpenBLAS's beta = 0
/// result bit for bit, on every kernel set: shapes below and above OpenBLAS's small-matrix limit,
/// every transpose, a leading dimension wider than the block, and C full of NaN on entry (beta = 0
/// must ignore what C held).
final class BLASTests: XCTestCase {
    private struct Case { let m, n, k: Int; let transA, transB: Bool }

    private let cases: [Case] = [
        Case(m: 3, n: 5, k: 7, transA: false, transB: false),
        Case(m: 64, n: 48, k: 200, transA: false, transB: true),
        Case(m: 300, n: 70, k: 130, transA: true, transB: false),
        Case(m: 257, n: 129, k: 384, transA: true, transB: true),
        Case(m: 40, n: 16, k: 0, transA: false, transB: false),
    ]

    private func randomMatrix(_ count: Int, rng: inout RNG) -> [Float] {
        (0..<count).map { _ in Float(rng.uniform(-1, 1)) }
    }

    /// The block C[0..<m, 0..<n] after C = op(A)·op(B) (+ beta·C), C starting as NaN with a
    /// sentinel in the columns past n.
    private func product(_ c: Case, a: [Float], b: [Float], ldc: Int,
                         run: (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var out = [Float](repeating: .nan, count: c.m * ldc)
        for i in 0..<c.m { for j in c.n..<ldc { out[i * ldc + j] = 7 } }
        let lda = c.transA ? c.m : c.k, ldb = c.transB ? c.k : c.n
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    run(pa.baseAddress!, lda, pb.baseAddress!, ldb, pc.baseAddress!)
                }
            }
        }
        return out
    }

    func testClearingFirstGivesOpenBLASBetaZeroBits() {
        var rng = RNG(seed: 11)
        for c in cases {
            let a = randomMatrix(max(c.m * c.k, 1), rng: &rng), b = randomMatrix(max(c.k * c.n, 1), rng: &rng)
            let ldc = c.n + 3
            let tag = "m \(c.m) n \(c.n) k \(c.k) transA \(c.transA) transB \(c.transB)"
            // OpenBLAS itself, bypassing the wrapper.
            func openBLASProduct(beta: Float, clearingFirst: Bool) -> [Float] {
                product(c, a: a, b: b, ldc: ldc) { pa, lda, pb, ldb, pc in
                    if clearingFirst { BLASKernels.clear(pc, rows: c.m, columns: c.n, ldc: ldc) }
                    cblas_sgemm(CblasRowMajor, c.transA ? CblasTrans : CblasNoTrans, c.transB ? CblasTrans : CblasNoTrans,
                                Int32(c.m), Int32(c.n), Int32(c.k), 1, pa, Int32(lda), pb, Int32(ldb), beta, pc, Int32(ldc))
                }
            }
            let openBLAS = openBLASProduct(beta: 0, clearingFirst: false)
            let clearedFirst = openBLASProduct(beta: 1, clearingFirst: true)
            let wrapper = product(c, a: a, b: b, ldc: ldc) { pa, lda, pb, ldb, pc in
                sgemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: pa, lda: lda, b: pb, ldb: ldb,
                      c: pc, ldc: ldc)
            }
            for i in 0..<c.m {
                for j in 0..<ldc {
                    let o = openBLAS[i * ldc + j]
                    XCTAssertFalse(o.isNaN, "OpenBLAS left NaN at (\(i), \(j)), \(tag)")
                    XCTAssertEqual(clearedFirst[i * ldc + j].bitPattern, o.bitPattern, "cleared first (\(i), \(j)), \(tag)")
                    XCTAssertEqual(wrapper[i * ldc + j].bitPattern, o.bitPattern, "wrapper (\(i), \(j)), \(tag)")
                    if j >= c.n { XCTAssertEqual(o, 7, "column past n changed, \(tag)") }
                }
            }
        }
    }
}
