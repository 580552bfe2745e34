@testable import Core
import XCTest

/// The deterministic mode inside one process (docs/distributed.md §Deterministic): with
/// `ParameterStore.exact` set, a convolution pair's outputs, input gradients and exact weight
/// gradients are the same bits at 1 and 2 threads and when the batch is split in two (as ranks
/// split it), for every convolution algorithm (the shifted GEMMs on the 3×3 layer, with 3 outputs) and for a 12×12 stride-2 and a 3×3 stride-1 first
/// layer — and they are the ordinary gradients, rounded once.
final class DeterministicLayerTests: XCTestCase {
    private struct Outcome: Equatable {
        var y: [Float], z: [Float], dx: [Float]
        var gradients: [Double]   // every parameter's exact sum, read out as Double
    }

    /// A K×K convolution (stride 2 for K = 12, else 1) followed by a 4×4 transposed one back to
    /// the input's channels, with fresh gradients (exact sums in the deterministic mode).
    private func layers(_ algorithm: ConvAlgorithm, threads: Int, exact: Bool, kernel k: Int,
                        channels: (in: Int, out: Int)) -> (ParameterStore, Conv2d, ConvTranspose2d) {
        let (cin, cout) = channels
        let store = ParameterStore(seed: 3)
        let s = k == 12 ? 2 : 1
        let conv = Conv2d(store: store, name: "c", inChannels: cin, outChannels: cout, kernel: (k, k), stride: (s, s), padding: (k / 2 - s + 1, k / 2 - s + 1))
        let t = ConvTranspose2d(store: store, name: "t", inChannels: cout, outChannels: cin, kernel: (4, 4), stride: (s, s), padding: (2 - s, 2 - s))
        for layer in [conv as ConvolutionLayer, t] {
            layer.algorithm = algorithm
            layer.budget = ComputeBudget(threads: threads)
        }
        if exact { store.exact = ExactGradients(parameterCount: store.parameterCount) }
        store.zeroGradients()
        return (store, conv, t)
    }

    /// Every parameter's gradient as a Double: the exact sums when there are, else the Float buffer.
    private func gradients(_ store: ParameterStore) -> [Double] {
        store.exact.map { e in (0..<store.parameterCount).map { e.value(at: $0) } }
            ?? (0..<store.parameterCount).map { Double(store.gradients[$0]) }
    }

    /// Samples `part` of a batch tensor.
    private func slice(_ t: Tensor, _ part: Range<Int>) -> Tensor {
        let per = t.count / t.shape[0]
        return Tensor(shape: [part.count] + Array(t.shape.dropFirst()), values: Array(t.array[(part.lowerBound * per)..<(part.upperBound * per)]))
    }

    /// `keep`: the training forward's kept row transforms feed the convolution's backward.
    private func run(_ algorithm: ConvAlgorithm, threads: Int, parts: [Range<Int>], exact: Bool = true, keep: Bool = false,
                     kernel k: Int = 12) -> Outcome {
        // Few outputs for the shifted GEMMs, which only run layers of at most 4 (direct elsewhere).
        let n = 4, cin = 3, cout = algorithm == .shifted ? 3 : 12, h = 22, w = 30
        let (store, conv, t) = layers(algorithm, threads: threads, exact: exact, kernel: k, channels: (cin, cout))
        let x = GradientCheck.random([n, cin, h, w], seed: 4)
        var outcome = Outcome(y: [], z: [], dx: [], gradients: [])
        // Each part is what one rank would hold; the exact sums simply keep adding.
        for part in parts {
            let xp = slice(x, part)
            let (y, kept) = conv.forward(xp, keep: keep)
            if keep && algorithm == .winograd { XCTAssertNotNil(kept) }
            let z = t.forward(y)
            let dz = slice(GradientCheck.random([n] + Array(z.shape.dropFirst()), seed: 5), part)
            let dy = t.backward(dz, input: y)!
            let dx = conv.backward(dy, input: xp, inputGradient: true, biasGradient: true, kept: kept)!
            outcome.y += y.array; outcome.z += z.array; outcome.dx += dx.array
        }
        outcome.gradients = gradients(store)
        return outcome
    }

    func testSamePerSampleResultsAtAnyThreadCountAndSplit() {
        for k in [12, 3] {
            for algorithm in [ConvAlgorithm.direct, .winograd] + (k == 3 ? [.shifted] : []) {
                let label = "\(algorithm), \(k)×\(k)"
                let reference = run(algorithm, threads: 1, parts: [0..<4], kernel: k)
                XCTAssertEqual(run(algorithm, threads: 2, parts: [0..<4], kernel: k), reference, "\(label): 2 threads vs 1")
                XCTAssertEqual(run(algorithm, threads: 2, parts: [0..<1, 1..<4], kernel: k), reference, "\(label): batch split 1 + 3")
                XCTAssertEqual(run(algorithm, threads: 1, parts: [0..<2, 2..<4], kernel: k), reference, "\(label): batch split 2 + 2")
                XCTAssertEqual(run(algorithm, threads: 2, parts: [0..<1, 1..<4], keep: true, kernel: k), reference, "\(label): kept row transforms")
                // The exact sums are the ordinary gradient (summed in Float over the batch) up to its rounding.
                let ordinary = run(algorithm, threads: 1, parts: [0..<4], exact: false, kernel: k)
                let scale = ordinary.gradients.map(abs).max()!
                for (a, b) in zip(reference.gradients, ordinary.gradients) {
                    XCTAssertLessThan(abs(a - b), 1e-5 * scale, "\(label): exact vs ordinary gradient")
                }
                XCTAssertEqual(reference.y.count, ordinary.y.count)
            }
        }
    }

    /// Two passes of the same pair of layers in one step (as the reference objective's two encoder
    /// and two decoder passes), through `backward(_ passes:)`: `parts` splits the batch as ranks would.
    private func runTwoPasses(_ algorithm: ConvAlgorithm, threads: Int, parts: [Range<Int>], exact: Bool, together: Bool,
                              kernel k: Int) -> Outcome {
        // Few outputs for the shifted GEMMs, which only run layers of at most 4 (direct elsewhere).
        let n = 4, cin = 3, cout = algorithm == .shifted ? 3 : 12, h = 22, w = 30
        let (store, conv, t) = layers(algorithm, threads: threads, exact: exact, kernel: k, channels: (cin, cout))
        let inputs = [GradientCheck.random([n, cin, h, w], seed: 4), GradientCheck.random([n, cin, h, w], seed: 6)]
        var outcome = Outcome(y: [], z: [], dx: [], gradients: [])
        // Each pass's outputs in sample order, whatever the split.
        var ys: [[Float]] = [[], []], zs: [[Float]] = [[], []], dxs: [[Float]] = [[], []]
        for part in parts {
            var forwards: [(x: Tensor, y: Tensor, kept: Tensor?, dz: Tensor)] = []
            for (p, x) in inputs.enumerated() {
                let xp = slice(x, part)
                let (y, kept) = conv.forward(xp, keep: true)
                let z = t.forward(y)
                let dz = slice(GradientCheck.random([n] + Array(z.shape.dropFirst()), seed: UInt64(5 + 2 * p)), part)
                forwards.append((xp, y, kept, dz))
                ys[p] += y.array; zs[p] += z.array
            }
            if together {
                let dys = t.backward(forwards.map { ConvPass(outputGradient: $0.dz, input: $0.y, kept: nil) }, inputGradient: true, biasGradient: true)
                let dx = conv.backward(zip(forwards, dys).map { ConvPass(outputGradient: $1!, input: $0.x, kept: $0.kept) },
                                       inputGradient: true, biasGradient: true)
                for p in 0..<2 { dxs[p] += dx[p]!.array }
            } else {
                for (p, f) in forwards.enumerated() {
                    let dy = t.backward(f.dz, input: f.y)!
                    dxs[p] += conv.backward(dy, input: f.x, inputGradient: true, biasGradient: true, kept: f.kept)!.array
                }
            }
        }
        outcome.y = ys.flatMap { $0 }; outcome.z = zs.flatMap { $0 }; outcome.dx = dxs.flatMap { $0 }
        outcome.gradients = gradients(store)
        return outcome
    }

    /// Passes that go back together: in the deterministic mode each unit's passes are summed before
    /// its one fold (`GradientSpan`), and the result is still the same bits at any thread count and
    /// split, and the ordinary gradient up to rounding; in the default mode they are exactly the
    /// passes run one after the other.
    func testPassesTogetherAreDeterministicAndTheDefaultModeRunsThemInOrder() {
        for k in [12, 3] {
            for algorithm in [ConvAlgorithm.direct, .winograd] + (k == 3 ? [.shifted] : []) {
                let label = "\(algorithm), \(k)×\(k)"
                let reference = runTwoPasses(algorithm, threads: 1, parts: [0..<4], exact: true, together: true, kernel: k)
                XCTAssertEqual(runTwoPasses(algorithm, threads: 2, parts: [0..<4], exact: true, together: true, kernel: k), reference,
                               "\(label): 2 threads vs 1")
                XCTAssertEqual(runTwoPasses(algorithm, threads: 2, parts: [0..<1, 1..<4], exact: true, together: true, kernel: k), reference,
                               "\(label): batch split 1 + 3")
                XCTAssertEqual(runTwoPasses(algorithm, threads: 1, parts: [0..<2, 2..<4], exact: true, together: true, kernel: k), reference,
                               "\(label): batch split 2 + 2")
                // The unit's two passes really were summed (not, say, the second overwriting the first).
                let separately = runTwoPasses(algorithm, threads: 1, parts: [0..<4], exact: true, together: false, kernel: k)
                XCTAssertEqual(reference.dx, separately.dx, "\(label): each pass's input gradient")
                let scale = separately.gradients.map(abs).max()!
                let worst = zip(reference.gradients, separately.gradients).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-5 * scale, "\(label): passes summed per unit vs folded one by one")
                let ordinary = runTwoPasses(algorithm, threads: 2, parts: [0..<4], exact: false, together: true, kernel: k)
                XCTAssertEqual(ordinary, runTwoPasses(algorithm, threads: 2, parts: [0..<4], exact: false, together: false, kernel: k),
                               "\(label): default mode, passes together vs one after the other")
            }
        }
    }
}
