import Foundation
import XCTest
@testable import Core

final class BatchNormTests: XCTestCase {
    /// x with a per-channel offset and scale (as after a conv), so normalisation does visible work.
    private func input(_ shape: [Int], seed: UInt64) -> Tensor {
        let x = GradientCheck.random(shape, seed: seed)
        let c = shape[1], plane = shape.count == 4 ? shape[2] * shape[3] : 1
        for i in 0..<x.count {
            let ch = (i / plane) % c
            x[i] = x[i] * Float(1 + ch) + Float(ch) - 1
        }
        return x
    }

    private func makeBN(channels: Int, seed: UInt64) -> (ParameterStore, BatchNorm2d) {
        let store = ParameterStore(seed: seed)
        let bn = BatchNorm2d(store: store, name: "bn", channels: channels)
        var rng = RNG(seed: seed &+ 1)
        for ch in 0..<channels {
            store.value(bn.weight)[ch] = 0.5 + rng.uniformFloat()
            store.value(bn.bias)[ch] = rng.uniformFloat() - 0.5
        }
        return (store, bn)
    }

    // MARK: Finite differences

    private func checkGradients(shape: [Int], mode: Mode, seed: UInt64) {
        let (store, bn) = makeBN(channels: shape[1], seed: seed)
        if mode == .eval {
            for ch in 0..<shape[1] {
                store.buffer(bn.runningMean)[ch] = 0.3 * Float(ch) - 0.2
                store.buffer(bn.runningVar)[ch] = 0.5 + Float(ch)
            }
        }
        let x = input(shape, seed: seed &+ 2)
        let r = GradientCheck.random(shape, seed: seed &+ 3)
        store.zeroGradients()
        let (_, cache) = bn.forward(x, mode: mode)
        let dx = bn.backward(r, cache: cache)
        let dGamma = store.gradientArray(bn.weight), dBeta = store.gradientArray(bn.bias)
        let loss = { GradientCheck.dot(r, bn.forward(x, mode: mode).0) }
        let tag = "\(mode) \(shape)"
        GradientCheck.compare(values: x.data, count: x.count, analytic: dx.array, label: "BN dx \(tag)", loss: loss)
        GradientCheck.compare(values: store.value(bn.weight), count: bn.channels, analytic: dGamma,
                              label: "BN dγ \(tag)", loss: loss)
        GradientCheck.compare(values: store.value(bn.bias), count: bn.channels, analytic: dBeta,
                              label: "BN dβ \(tag)", loss: loss)
    }

    func testTrainGradientsMatchFiniteDifferences() {
        checkGradients(shape: [3, 2, 3, 4], mode: .train, seed: 10)
    }

    func testTrainGradientsTwoDimensionalInput() {
        checkGradients(shape: [5, 3], mode: .train, seed: 20)
    }

    /// A 1×1 map, as in stack 8: statistics over the batch only.
    func testTrainGradientsOneByOneMaps() {
        checkGradients(shape: [4, 3, 1, 1], mode: .train, seed: 25)
    }

    func testEvalGradientsMatchFiniteDifferences() {
        checkGradients(shape: [2, 3, 2, 3], mode: .eval, seed: 30)
    }

    // MARK: ReLU inside BatchNorm

    /// `forward(relu: true)` and its backward must give exactly what BatchNorm followed by a separate
    /// ReLU gives, since blocks use the fused path and it must not change a result: y, dx, dγ, dβ and
    /// the running statistics, bit for bit, in both modes, at 1 and 2 threads. Channel 0 is constant
    /// with β = 0, so every element sits exactly on the ReLU's kink (γ·x̂ + β = 0); channel 2 holds a
    /// NaN (in eval mode the others stay finite); dy has a NaN and an ∞ where the mask is 0.
    func testReLUInsideBatchNormGivesTheBitsOfReLUAfterIt() {
        let shape = [3, 4, 5, 6], plane = 30
        let x = input(shape, seed: 40)
        for i in 0..<shape[0] { for k in 0..<plane { x[i * 4 * plane + k] = 0.5 } }
        x[(1 * 4 + 2) * plane + 7] = .nan
        let dy = GradientCheck.random(shape, seed: 41)
        dy[(2 * 4 + 0) * plane + 3] = .nan
        dy[(0 * 4 + 0) * plane + 5] = .infinity
        func bits(_ t: Tensor) -> [UInt32] { t.array.map(\.bitPattern) }
        func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }
        for mode in [Mode.train, .eval] {
            for threads in [1, 2] {
                var results: [(y: [UInt32], dx: [UInt32], params: [UInt32])] = []
                for fused in [false, true] {
                    let (store, bn) = makeBN(channels: shape[1], seed: 42)
                    store.value(bn.bias)[0] = 0
                    if mode == .eval {
                        for ch in 0..<shape[1] {
                            store.buffer(bn.runningMean)[ch] = ch == 0 ? 0.5 : 0.3 * Float(ch) - 0.2
                            store.buffer(bn.runningVar)[ch] = 0.5 + Float(ch)
                        }
                    }
                    bn.budget = ComputeBudget(threads: threads)
                    store.zeroGradients()
                    let g = dy.copy()
                    let y: Tensor, dx: Tensor
                    if fused {
                        let (out, cache) = bn.forward(x.copy(), mode: mode, relu: true)
                        y = out
                        dx = bn.backward(g, cache: cache, overwriting: true)
                    } else {
                        let (out, cache) = bn.forward(x.copy(), mode: mode)
                        Activation.relu.forwardInPlace(out)
                        Activation.relu.backwardInPlace(g, output: out)
                        y = out
                        dx = bn.backward(g, cache: cache)
                    }
                    let params = store.gradientArray(bn.weight) + store.gradientArray(bn.bias)
                        + Array(UnsafeBufferPointer(start: store.buffer(bn.runningMean), count: bn.channels))
                        + Array(UnsafeBufferPointer(start: store.buffer(bn.runningVar), count: bn.channels))
                    results.append((bits(y), bits(dx), bits(params)))
                }
                let tag = "\(mode), \(threads) thread(s)"
                XCTAssertEqual(results[1].y, results[0].y, "y, \(tag)")
                XCTAssertEqual(results[1].dx, results[0].dx, "dx, \(tag)")
                XCTAssertEqual(results[1].params, results[0].params, "dγ, dβ, running statistics, \(tag)")
                // The kink channel's outputs are all 0 (ReLU of exactly 0), so the case was exercised.
                XCTAssertTrue(results[1].y[0..<plane].allSatisfy { $0 == 0 }, "kink channel, \(tag)")
            }
        }
    }

    // MARK: Hand-computed statistics

    /// One channel, x = [1, 2, 3, 6]: mean 3, biased var 14/4 = 3.5, unbiased var 14/3.
    func testTrainRunningStatisticsHandComputed() {
        let store = ParameterStore(seed: 1)
        let bn = BatchNorm2d(store: store, name: "bn", channels: 1)
        let x = Tensor(shape: [2, 1, 1, 2], values: [1, 2, 3, 6])
        let (y, _) = bn.forward(x, mode: .train)
        let inv = 1 / (3.5 + 1e-5).squareRoot()
        for (i, v) in [1.0, 2, 3, 6].enumerated() {
            XCTAssertEqual(Double(y[i]), (v - 3) * inv, accuracy: 1e-6)
        }
        XCTAssertEqual(store.buffer(bn.runningMean)[0], 0.3, accuracy: 1e-7)                  // 0.9·0 + 0.1·3
        XCTAssertEqual(Double(store.buffer(bn.runningVar)[0]), 0.9 + 0.1 * 14 / 3, accuracy: 1e-6) // unbiased
        XCTAssertEqual(store.buffer(bn.batchesTracked)[0], 1)

        // Second step, x = [0, 0, 2, 2]: mean 1, unbiased var 4/3.
        _ = bn.forward(Tensor(shape: [2, 1, 1, 2], values: [0, 0, 2, 2]), mode: .train)
        XCTAssertEqual(Double(store.buffer(bn.runningMean)[0]), 0.9 * 0.3 + 0.1 * 1, accuracy: 1e-6)
        XCTAssertEqual(Double(store.buffer(bn.runningVar)[0]), 0.9 * (0.9 + 0.1 * 14 / 3) + 0.1 * 4 / 3, accuracy: 1e-6)
        XCTAssertEqual(store.buffer(bn.batchesTracked)[0], 2)
    }

    func testEvalUsesRunningStatisticsAndUpdatesNothing() {
        let store = ParameterStore(seed: 1)
        let bn = BatchNorm2d(store: store, name: "bn", channels: 2)
        store.value(bn.weight)[0] = 2; store.value(bn.weight)[1] = 0.5
        store.value(bn.bias)[0] = 1; store.value(bn.bias)[1] = -1
        store.buffer(bn.runningMean)[0] = 0.5; store.buffer(bn.runningMean)[1] = -2
        store.buffer(bn.runningVar)[0] = 4; store.buffer(bn.runningVar)[1] = 0.25
        store.buffer(bn.batchesTracked)[0] = 7
        let before = Array(UnsafeBufferPointer(start: store.bufferValues, count: store.bufferCount))
        // N=1, C=2, 1×2 planes: channel 0 = [0.5, 2.5], channel 1 = [−2, −1].
        let (y, _) = bn.forward(Tensor(shape: [1, 2, 1, 2], values: [0.5, 2.5, -2, -1]), mode: .eval)
        let s0 = 1 / (4 + 1e-5).squareRoot(), s1 = 1 / (0.25 + 1e-5).squareRoot()
        let expected = [1.0, 2 * 2 * s0 + 1, -1, 0.5 * 1 * s1 - 1]
        for i in 0..<4 { XCTAssertEqual(Double(y[i]), expected[i], accuracy: 1e-6, "y[\(i)]") }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.bufferValues, count: store.bufferCount)), before,
                       "eval must not touch running statistics or the batch counter")
    }

    func testEvalMakesNoReducerCallsAndTrainMakesThree() {
        let (store, bn) = makeBN(channels: 3, seed: 5)   // bn holds its store unowned: keep it alive
        defer { withExtendedLifetime(store) {} }
        let counter = CountingReducer()
        bn.reducer = counter
        let x = input([2, 3, 2, 2], seed: 6)
        let (y, cache) = bn.forward(x, mode: .eval)
        _ = bn.backward(y, cache: cache)
        XCTAssertEqual(counter.calls, 0)
        let (y2, cache2) = bn.forward(x, mode: .train)
        _ = bn.backward(y2, cache: cache2)
        XCTAssertEqual(counter.calls, 3, "forward: [Σx, count] then Σ(x−μ)²; backward: [Σdy, Σdy·x̂]")
        XCTAssertEqual(counter.doubles, (3 + 1) + 3 + 2 * 3)
    }

    /// Large offset, tiny spread: a one-pass E[x²] − E[x]² in Float would lose the variance entirely.
    func testVarianceIsAccurateUnderLargeOffset() {
        let store = ParameterStore(seed: 1)
        let bn = BatchNorm2d(store: store, name: "bn", channels: 1, momentum: 1)
        let x = GradientCheck.random([8, 1, 16, 16], seed: 3)
        var mean = 0.0, sq = 0.0
        for i in 0..<x.count { x[i] = 1000 + 0.01 * x[i]; mean += Double(x[i]) }
        mean /= Double(x.count)
        for i in 0..<x.count { sq += (Double(x[i]) - mean) * (Double(x[i]) - mean) }
        _ = bn.forward(x, mode: .train)
        let unbiased = sq / Double(x.count - 1)
        XCTAssertEqual(Double(store.buffer(bn.runningVar)[0]) / unbiased, 1, accuracy: 1e-5)
    }

    // MARK: Speed at the decoder's largest activation

    /// 16×67×64×128 (decoder stage 2 input, batch 16): prints forward/backward times, and checks the
    /// result is normalised (per-channel mean ≈ β, variance ≈ γ²) so the timed code is the real thing.
    func testLargeTensorTiming() {
        let shape = [16, 67, 64, 128]
        let (store, bn) = makeBN(channels: shape[1], seed: 70)
        let x = GradientCheck.random(shape, seed: 71, lo: 0, hi: 3)
        let dy = GradientCheck.random(shape, seed: 72)
        var best = (forward: Double.infinity, backward: Double.infinity)
        var y = x, cache: BatchNormCache?
        for _ in 0..<2 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            (y, cache) = bn.forward(x, mode: .train)
            let t1 = DispatchTime.now().uptimeNanoseconds
            _ = bn.backward(dy, cache: cache!)
            let t2 = DispatchTime.now().uptimeNanoseconds
            best = (min(best.forward, Double(t1 - t0) / 1e6), min(best.backward, Double(t2 - t1) / 1e6))
        }
        print(String(format: "BatchNorm2d train %@: forward %.1f ms, backward %.1f ms (best of 2)",
                     "\(shape)", best.forward, best.backward))
        let plane = shape[2] * shape[3]
        for ch in [0, 33, 66] {
            var s = 0.0, s2 = 0.0
            for n in 0..<shape[0] {
                let p = y.data + (n * shape[1] + ch) * plane
                for k in 0..<plane { s += Double(p[k]); s2 += Double(p[k]) * Double(p[k]) }
            }
            let m = Double(shape[0] * plane), mean = s / m, variance = s2 / m - mean * mean
            let g = Double(store.value(bn.weight)[ch]), b = Double(store.value(bn.bias)[ch])
            XCTAssertEqual(mean, b, accuracy: 1e-4); XCTAssertEqual(variance, g * g, accuracy: 1e-3)
        }
    }

    // MARK: Synchronized BatchNorm over simulated replicas

    /// Whole-batch BN must equal BN over replica shards joined through a reducer: same outputs and
    /// dx on each shard, identical running statistics on every replica, and the replicas' local
    /// dγ/dβ summing to the whole batch's.
    private func checkReplicas(shape: [Int], split: [Int], seed: UInt64) throws {
        let x = input(shape, seed: seed)
        let dy = GradientCheck.random(shape, seed: seed &+ 1)
        let (wholeStore, whole) = makeBN(channels: shape[1], seed: seed &+ 2)
        let (wy, wcache) = whole.forward(x, mode: .train)
        let wdx = whole.backward(dy, cache: wcache)

        let group = InProcessReplicas(size: split.count)
        let perSample = x.count / shape[0]
        // Each rank's first sample (a `let`: the ranks' closures run concurrently).
        let starts = split.reduce(into: [0]) { $0.append($0.last! + $1) }
        let results = (0..<split.count).map { _ in ReplicaResult() }
        let outcomes = group.run { rank, member in
            var sub = shape
            sub[0] = split[rank]
            let xs = Tensor(shape: sub, values: Array(x.array[starts[rank] * perSample ..< starts[rank + 1] * perSample]))
            let dys = Tensor(shape: sub, values: Array(dy.array[starts[rank] * perSample ..< starts[rank + 1] * perSample]))
            let (store, bn) = self.makeBN(channels: shape[1], seed: seed &+ 2)   // same γ, β as `whole`
            bn.reducer = member
            let (y, cache) = bn.forward(xs, mode: .train)
            let dx = bn.backward(dys, cache: cache)
            let out = results[rank]
            out.y = y.array; out.dx = dx.array
            out.dGamma = store.gradientArray(bn.weight); out.dBeta = store.gradientArray(bn.bias)
            out.runningMean = Array(UnsafeBufferPointer(start: store.buffer(bn.runningMean), count: bn.channels))
            out.runningVar = Array(UnsafeBufferPointer(start: store.buffer(bn.runningVar), count: bn.channels))
            out.tracked = store.buffer(bn.batchesTracked)[0]
        }
        for outcome in outcomes { try outcome.get() }
        XCTAssertEqual(group.completedCollectives, 3, "one forward + backward = three collectives")

        let tol: (rtol: Float, atol: Float) = (1e-5, 1e-6)
        assertClose(results.flatMap(\.y), wy.array, rtol: tol.rtol, atol: tol.atol, "y \(split)")
        assertClose(results.flatMap(\.dx), wdx.array, rtol: tol.rtol, atol: 1e-5, "dx \(split)")
        let c = shape[1]
        let dGammaSum = (0..<c).map { ch in results.reduce(Float(0)) { $0 + $1.dGamma[ch] } }
        let dBetaSum = (0..<c).map { ch in results.reduce(Float(0)) { $0 + $1.dBeta[ch] } }
        assertClose(dGammaSum, wholeStore.gradientArray(whole.weight), rtol: tol.rtol, atol: 1e-5, "Σ dγ \(split)")
        assertClose(dBetaSum, wholeStore.gradientArray(whole.bias), rtol: tol.rtol, atol: 1e-5, "Σ dβ \(split)")
        let wMean = Array(UnsafeBufferPointer(start: wholeStore.buffer(whole.runningMean), count: c))
        let wVar = Array(UnsafeBufferPointer(start: wholeStore.buffer(whole.runningVar), count: c))
        for r in results {
            assertClose(r.runningMean, wMean, rtol: tol.rtol, atol: tol.atol, "running mean \(split)")
            assertClose(r.runningVar, wVar, rtol: tol.rtol, atol: tol.atol, "running var \(split)")
            XCTAssertEqual(r.tracked, 1)
        }
        // The local dγ of one replica alone is NOT the whole batch's: the test could tell.
        XCTAssertGreaterThan(abs(results[0].dBeta[0] - wholeStore.gradientArray(whole.bias)[0]), 1e-3)
    }

    func testTwoReplicasEqualWholeBatch() throws {
        try checkReplicas(shape: [4, 3, 3, 5], split: [2, 2], seed: 40)
    }

    /// Uneven shards (a short last batch): the reduced count, not replicas × local count, is right.
    func testUnevenReplicasEqualWholeBatch() throws {
        try checkReplicas(shape: [4, 3, 3, 5], split: [1, 3], seed: 50)
    }

    func testTwoReplicasTwoDimensionalInput() throws {
        try checkReplicas(shape: [6, 4], split: [3, 3], seed: 60)
    }

}

/// What one simulated replica produced (each thread writes only its own object).
private final class ReplicaResult {
    var y: [Float] = [], dx: [Float] = [], dGamma: [Float] = [], dBeta: [Float] = []
    var runningMean: [Float] = [], runningVar: [Float] = []
    var tracked: Float = 0
}

/// A single-replica reducer that counts its calls.
private final class CountingReducer: ReplicaGroup {
    var calls = 0, doubles = 0
    var rank: Int { 0 }
    var replicas: Int { 1 }
    func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) { calls += 1; doubles += count }
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) { calls += 1 }
    func sum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) { calls += 1 }
    func maximum(_ buffer: UnsafeMutablePointer<Double>, count: Int) { calls += 1 }
    func broadcast(bytes: UnsafeMutableRawBufferPointer, root: Int) { calls += 1 }
    func synchronize() { calls += 1 }
    func abort(_ message: String, code: Int32) -> Never { fatalError(message) }
}
