@testable import Core
import XCTest

/// Phase 2's deterministic step in one process (`ODETrainer` with `UnitWorkers`): one unit per pair
/// over more pairs than one pool section holds (2¹⁵), on 1 and 2 threads — the same bits, and the
/// exact loss and gradient the default mode's Float sums approximate (a unit skipped or counted
/// twice would move them far beyond that).
final class ODEDeterministicThreadsTests: XCTestCase {
    func testUnitsOnTwoThreadsGiveOneThreadsBitsOverSeveralSections() throws {
        let pairsCount = (1 << 15) + 1234, d = 2
        let config = LatentModelConfig(kind: .mlp, dimension: d, hiddenWidths: [4], frameStep: 0.1)
        var rng = RNG(seed: 8)
        let paths: [[[Float]]] = (0..<pairsCount).map { _ in
            let z = (0..<d).map { _ in Float(rng.normal()) }
            return [z, z.map { $0 + 0.1 * Float(rng.normal()) }]
        }
        let pairs = InMemoryLatentPairs(paths: paths)
        func step(threads: Int, deterministic: Bool) throws -> (loss: Double, gradient: [Float]) {
            let model = try config.build(seed: 3, budget: ComputeBudget(threads: threads))
            let settings = TrainerSettings(globalBatch: pairsCount, steps: 1, schedule: "constant:1e-5", syncBatchNorm: false,
                                           deterministic: deterministic, deterministicUnit: deterministic ? 1 : nil)
            let trainer = try ODETrainer(model: model, group: SingleProcess(), sampler: pairs, settings: settings,
                                         makeWorker: { try config.build(seed: 3) })
            let report = try trainer.step()
            return (report.loss, Array(UnsafeBufferPointer(start: model.store.gradients, count: model.store.parameterCount)))
        }
        let one = try step(threads: 1, deterministic: true), two = try step(threads: 2, deterministic: true)
        XCTAssertEqual(one.loss.bitPattern, two.loss.bitPattern, "loss: 2 threads vs 1")
        XCTAssertEqual(one.gradient.map(\.bitPattern), two.gradient.map(\.bitPattern), "gradient: 2 threads vs 1")
        let ordinary = try step(threads: 1, deterministic: false)
        // The default mode sums ~2¹⁵ terms in Float: a relative error of a few 1e-4 at most.
        XCTAssertEqual(one.loss, ordinary.loss, accuracy: 1e-3 * abs(ordinary.loss))
        let scale = ordinary.gradient.map { abs($0) }.max()!
        for (a, b) in zip(one.gradient, ordinary.gradient) { XCTAssertEqual(a, b, accuracy: 1e-3 * scale) }
    }
}
