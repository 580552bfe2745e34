import Foundation
import XCTest
@testable import Core

final class ConcatMSETests: XCTestCase {
    func testConcatLayoutIsPerSampleChannelBlocks() {
        // a: N=2, C=1, 1×2; b: N=2, C=2, 1×2.
        let a = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 4])
        let b = Tensor(shape: [2, 2, 1, 2], values: [10, 11, 12, 13, 20, 21, 22, 23])
        let y = concatChannels(a, b)
        XCTAssertEqual(y.shape, [2, 3, 1, 2])
        XCTAssertEqual(y.array, [1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23])
        let (da, db) = splitChannels(y, first: 1)
        XCTAssertEqual(da.shape, a.shape); XCTAssertEqual(db.shape, b.shape)
        XCTAssertEqual(da.array, a.array); XCTAssertEqual(db.array, b.array)
    }

    /// concat is linear: its backward (split) must match finite differences for both inputs.
    func testConcatGradientsMatchFiniteDifferences() {
        let a = GradientCheck.random([2, 3, 2, 3], seed: 1), b = GradientCheck.random([2, 2, 2, 3], seed: 2)
        let r = GradientCheck.random([2, 5, 2, 3], seed: 3)
        let (da, db) = splitChannels(r, first: 3)
        let loss = { GradientCheck.dot(r, concatChannels(a, b)) }
        GradientCheck.compare(values: a.data, count: a.count, analytic: da.array, label: "concat da", loss: loss)
        GradientCheck.compare(values: b.data, count: b.count, analytic: db.array, label: "concat db", loss: loss)
    }

    func testSplitEdgeCases() {
        let t = GradientCheck.random([2, 4, 1, 3], seed: 4)
        let (all, none) = splitChannels(t, first: 4)
        XCTAssertEqual(all.array, t.array); XCTAssertEqual(none.shape, [2, 0, 1, 3])
        XCTAssertEqual(concatChannels(all, none).array, t.array)
    }

    func testMSEHandComputed() {
        let p = Tensor(shape: [3], values: [1, 2, 3]), t = Tensor(shape: [3], values: [0, 0, 1])
        let (v, g) = mseLoss(p, t)
        XCTAssertEqual(v, (1 + 4 + 4) / 3, accuracy: 1e-6)
        XCTAssertEqual(g.array, [2.0 / 3, 4.0 / 3, 4.0 / 3].map { Float($0) })
        let (v2, g2) = mseLoss(p, t, weight: 2)
        XCTAssertEqual(v2, 6, accuracy: 1e-6)
        XCTAssertEqual(g2.array, g.array.map { 2 * $0 })
    }

    func testMSEGradientMatchesFiniteDifferences() {
        let p = GradientCheck.random([2, 3, 4, 5], seed: 5), t = GradientCheck.random([2, 3, 4, 5], seed: 6)
        let (_, g) = mseLoss(p, t, weight: 2)
        GradientCheck.compare(values: p.data, count: p.count, analytic: g.array, step: 1e-2, rtol: 1e-2, atol: 1e-5,
                              label: "mse dpred", loss: { Double(mseLoss(p, t, weight: 2).value) })
        // d/dtarget is the negation (documented): check it numerically too.
        GradientCheck.compare(values: t.data, count: t.count, analytic: g.array.map { -$0 }, step: 1e-2, rtol: 1e-2,
                              atol: 1e-5, label: "mse dtarget", loss: { Double(mseLoss(p, t, weight: 2).value) })
    }

    /// Samples spread over threads: the value and the gradient are the same bits at 1, 2 and 3
    /// threads (each sample summed by one thread, the samples' sums added in order), in both modes.
    func testMSEIsTheSameAtAnyThreadCount() {
        let p = GradientCheck.random([6, 3, 64, 128], seed: 11), t = GradientCheck.random([6, 3, 64, 128], seed: 12)
        let one = mseLoss(p, t, weight: 2), exactOne = mseLoss(p, t, weight: 2, exactOver: SingleProcess())
        for threads in [2, 3] {
            let many = mseLoss(p, t, weight: 2, threads: threads)
            XCTAssertEqual(many.value.bitPattern, one.value.bitPattern, "\(threads) threads")
            XCTAssertEqual(many.gradient.array, one.gradient.array, "\(threads) threads")
            let exactMany = mseLoss(p, t, weight: 2, exactOver: SingleProcess(), threads: threads)
            XCTAssertEqual(exactMany.value.bitPattern, exactOne.value.bitPattern, "exact, \(threads) threads")
            XCTAssertEqual(exactMany.gradient.array, one.gradient.array, "exact, \(threads) threads")
        }
        XCTAssertEqual(Double(one.value), Double(exactOne.value), accuracy: Double(one.value) * 1e-6)
    }

    /// Double accumulation: 2²⁴ + 1 unit errors would vanish in a Float running sum; here the mean is exact.
    func testMSESumsInDouble() {
        let n = 1 << 20
        let p = Tensor(zeros: [n]), t = Tensor(zeros: [n])
        p[0] = 4096                       // contributes 2²⁴
        for i in 1..<n { p[i] = 1 }       // each contributes 1, lost against 2²⁴ in Float
        let (v, _) = mseLoss(p, t)
        let exact = (Double(1 << 24) + Double(n - 1)) / Double(n)
        XCTAssertEqual(Double(v), exact, accuracy: exact * 1e-7)
    }

    /// Decoder stage 2 sizes at batch 16: concat 64 + 3 channels of 64×128, its split, and an MSE over a
    /// 16×3×128×256 reconstruction. Prints times (best of 2).
    func testLargeTensorTiming() {
        let a = GradientCheck.random([16, 64, 64, 128], seed: 7), b = GradientCheck.random([16, 3, 64, 128], seed: 8)
        let p = GradientCheck.random([16, 3, 128, 256], seed: 9), t = GradientCheck.random([16, 3, 128, 256], seed: 10)
        var times = [Double](repeating: .infinity, count: 3)
        for _ in 0..<2 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let y = concatChannels(a, b)
            let t1 = DispatchTime.now().uptimeNanoseconds
            let (da, _) = splitChannels(y, first: 64)
            let t2 = DispatchTime.now().uptimeNanoseconds
            _ = mseLoss(p, t)
            let t3 = DispatchTime.now().uptimeNanoseconds
            times = [min(times[0], Double(t1 - t0) / 1e6), min(times[1], Double(t2 - t1) / 1e6),
                     min(times[2], Double(t3 - t2) / 1e6)]
            XCTAssertEqual(da[da.count - 1], a[a.count - 1])
        }
        print(String(format: "concat → [16, 67, 64, 128] %.1f ms, split %.1f ms, mse [16, 3, 128, 256] %.1f ms",
                     times[0], times[1], times[2]))
    }
}
