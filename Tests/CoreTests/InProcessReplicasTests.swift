import Core
import Foundation
import XCTest

/// The in-process replica group: its collectives, and phase-1 training across k replicas giving the
/// training of one process (the mpirun comparison is in DistributedTests.TrainingAcrossRanksTests).
final class InProcessReplicasTests: XCTestCase {
    /// Sums combine in rank order in the buffer's precision, as one MPI reduction: 1e8 + 1 rounds to
    /// 1e8 in Float, so (1e8 + 1) − 1e8 = 0, where another order would give 1. Every replica gets
    /// the same bits; max, broadcast of bytes and of a typed value arrive exactly.
    func testCollectivesCombineInRankOrderAndReachEveryReplica() throws {
        struct State: BitwiseCopyable, Equatable { var step: Int; var epoch: Int; var offset: Int }
        let group = InProcessReplicas(size: 3)
        let outcomes = group.run { rank, g -> [Double] in
            var floats: [Float] = [[1e8, 1, -1e8][rank], Float(rank + 1)]
            floats.withUnsafeMutableBufferPointer { g.sum($0.baseAddress!, count: 2) }
            var doubles: [Double] = [0.5 * Double(rank), -Double(rank)]
            doubles.withUnsafeMutableBufferPointer { g.sum($0.baseAddress!, count: 2) }
            var top: [Double] = [Double(rank), -Double(rank)]
            top.withUnsafeMutableBufferPointer { g.maximum($0.baseAddress!, count: 2) }
            var bytes = rank == 2 ? [UInt8](0..<5) : [UInt8](repeating: 9, count: 5)
            bytes.withUnsafeMutableBytes { g.broadcast(bytes: $0, root: 2) }
            let state = g.broadcast(value: rank == 0 ? State(step: (1 << 53) + 1, epoch: 3, offset: 17) : State(step: 0, epoch: 0, offset: 0), root: 0)
            g.synchronize()
            XCTAssertEqual(bytes, [0, 1, 2, 3, 4], "replica \(rank)")
            XCTAssertEqual(state, State(step: (1 << 53) + 1, epoch: 3, offset: 17), "replica \(rank): integers beyond 2^53 exactly")
            return floats.map(Double.init) + doubles + top
        }
        let results = try outcomes.map { try $0.get() }
        for r in results { XCTAssertEqual(r, [0, 6, 1.5, -3, 2, 0]) }
        XCTAssertEqual(group.completedCollectives, 6, "sum Float, sum Double, max, two broadcasts, barrier")
    }

    private static let config: ModelConfig = {
        var c = ModelConfig.preset(.small)
        c.objective = .reference
        return c
    }()

    /// 64 random samples of the small preset's shape (X and Y pairs), the same in every replica.
    private static let samples: (x: Tensor, y: Tensor) = {
        let shape = [64] + config.inputShape
        var rng = RNG(seed: 11)
        let x = Tensor(uninitialized: shape), y = Tensor(uninitialized: shape)
        for i in 0..<x.count { x.data[i] = rng.uniformFloat(); y.data[i] = rng.uniformFloat() }
        return (x, y)
    }()

    private func train(replicas: Int, steps: Int = 20, lr: String = "1e-6", nonFinite: NonFinitePolicy = .stop,
                       afterBackward: (@Sendable (Int, Int, Autoencoder) throws -> Void)? = nil) -> [Result<ReplicatedTraining.Replica, Error>] {
        let settings = TrainerSettings(globalBatch: 16, steps: steps, schedule: "constant:\(lr)", nonFinite: nonFinite, seed: 7)
        var training = ReplicatedTraining(config: Self.config, seed: 7, settings: settings)
        training.afterBackward = afterBackward
        let (x, y) = Self.samples
        return training.run(replicas: replicas) { rank, k in
            InMemoryBatchSource(inputs: x, targets: y, rank: rank, worldSize: k, localBatch: 16 / k, seed: 7)
        }
    }

    private func state(_ m: Autoencoder) -> [Float] {
        Array(UnsafeBufferPointer(start: m.store.values, count: m.store.parameterCount))
            + Array(UnsafeBufferPointer(start: m.store.bufferValues, count: m.store.bufferCount))
    }

    private func relative(_ a: [Float], _ b: [Float]) -> Double {
        var d = 0.0, n = 0.0
        for i in 0..<a.count { d += Double(a[i] - b[i]) * Double(a[i] - b[i]); n += Double(a[i]) * Double(a[i]) }
        return (d / n).squareRoot()
    }

    /// k = 1, 2, 4 replicas: the same per-step losses and final parameters and statistics (≤ 1e-4
    /// relative over 20 steps at lr 1e-6), every replica of a group identical to its rank 0, and the
    /// same k twice bit for bit. Per-replica BatchNorm (the negative control) is seen by the same check.
    func testReplicaCountsGiveTheSameTrainingAndRepeatBitForBit() throws {
        let one = try train(replicas: 1).map { try $0.get() }[0]
        XCTAssertEqual(one.reports.count, 20)
        let start = try Autoencoder(config: Self.config, seed: 7)
        XCTAssertGreaterThan(relative(state(one.model), state(start)), 0, "training moved the parameters")
        for k in [2, 4] {
            let group = try train(replicas: k).map { try $0.get() }
            for replica in group {
                XCTAssertEqual(state(replica.model), state(group[0].model), "k=\(k): replicas stay identical")
                XCTAssertEqual(replica.reports.map(\.terms.total), group[0].reports.map(\.terms.total))
            }
            let worst = zip(one.reports, group[0].reports).map { abs($0.terms.total - $1.terms.total) / $0.terms.total }.max()!
            XCTAssertLessThan(worst, 1e-4, "k=\(k): per-step loss differs from k=1 by up to \(worst) (relative)")
            let rel = relative(state(group[0].model), state(one.model))
            XCTAssertLessThan(rel, 1e-4, "k=\(k): final parameters differ by \(rel) (relative L2)")
        }
        let a = try train(replicas: 2).map { try $0.get() }[0], b = try train(replicas: 2).map { try $0.get() }[0]
        XCTAssertEqual(a.reports.map(\.terms.total), b.reports.map(\.terms.total))
        XCTAssertEqual(state(a.model), state(b.model), "same k twice: bit-identical")
    }

    /// A NaN in replica 2's gradient at step 3: every replica stops at step 3 with the same message
    /// naming the step, what was non-finite and the rank; under --on-nan skip every replica skips
    /// exactly that step and the parameters stay finite and identical.
    func testNonFiniteGradientIsTheSameVerdictOnEveryReplica() throws {
        let poison: @Sendable (Int, Int, Autoencoder) throws -> Void = { rank, step, model in
            if rank == 2 && step == 3 { model.store.gradients[5] = .nan }
        }
        let stopped = train(replicas: 4, steps: 6, lr: "1e-3", afterBackward: poison)
        for (rank, outcome) in stopped.enumerated() {
            guard case .failure(let error) = outcome else { XCTFail("replica \(rank) did not stop"); continue }
            XCTAssertEqual("\(error)", "\(TrainingError.nonFinite(step: 3, what: "gradient (on rank 2)"))", "replica \(rank)")
        }
        let skipped = try train(replicas: 4, steps: 6, lr: "1e-3", nonFinite: .skip, afterBackward: poison).map { try $0.get() }
        for replica in skipped {
            XCTAssertEqual(replica.reports.map(\.skipped), [false, false, true, false, false, false])
            XCTAssertTrue(state(replica.model).allSatisfy(\.isFinite))
            XCTAssertEqual(state(replica.model), state(skipped[0].model))
        }
    }
}
