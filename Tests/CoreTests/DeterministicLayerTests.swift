@testable import Core
import XCTest

/// The deterministic mode inside one process (docs/distributed.md §Deterministic): with
/// `ParameterStore.exact` set, a convolution pair's outputs, input gradients and exact weight
/// gradients are the same bits at 1 and 2 threads and when the batch is split in two (as ranks
/// split it), for both convolution algorithms and for a 12×12 stride-2 and a 3×3 stride-1 first
/// layer — and they are the ordinary gradients, rounded once.
final class DeterministicLayerTests: XCTestCase {
    private struct Outcome: Equatable {
        var y: [Float], z: [Float], dx: [Float]
        var gradients: [Double]   // every parameter's exact sum, read out as Double
    }

    /// `keep`: the training forward's kept row transforms feed the convolution's backward.
    private func run(_ algorithm: ConvAlgorithm, threads: Int, parts: [Range<Int>], exact: Bool = true, keep: Bool = false,
                     kernel k: Int = 12) -> Outcome {
        let n = 4, cin = 3, cout = 12, h = 22, w = 30
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
        let x = GradientCheck.random([n, cin, h, w], seed: 4)
        var outcome = Outcome(y: [], z: [], dx: [], gradients: [])
        // Each part is what one rank would hold; the exact sums simply keep adding.
        for part in parts {
            let xp = Tensor(shape: [part.count, cin, h, w], values: Array(x.array[(part.lowerBound * cin * h * w)..<(part.upperBound * cin * h * w)]))
            let (y, kept) = conv.forward(xp, keep: keep)
            if keep && algorithm == .winograd { XCTAssertNotNil(kept) }
            let z = t.forward(y)
            let dzAll = GradientCheck.random([n] + Array(z.shape.dropFirst()), seed: 5)
            let per = z.count / part.count
            let dz = Tensor(shape: z.shape, values: Array(dzAll.array[(part.lowerBound * per)..<(part.upperBound * per)]))
            let dy = t.backward(dz, input: y)!
            let dx = conv.backward(dy, input: xp, inputGradient: true, biasGradient: true, kept: kept)!
            outcome.y += y.array; outcome.z += z.array; outcome.dx += dx.array
        }
        outcome.gradients = exact ? (0..<store.parameterCount).map { store.exact!.value(at: $0) }
                                  : (0..<store.parameterCount).map { Double(store.gradients[$0]) }
        return outcome
    }

    func testSamePerSampleResultsAtAnyThreadCountAndSplit() {
        for k in [12, 3] {
            for algorithm in [ConvAlgorithm.direct, .winograd] {
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
}
