import Foundation
import XCTest
@testable import Core

/// The latent pair sampler: phase-1 sampler rules (every pair once per epoch over all ranks, one
/// permutation on every rank), exact replay from a saved position, and k-step targets.
final class LatentPairSamplerTests: XCTestCase {
    var dir = ""
    var data: LatentDataset!

    override func setUpWithError() throws {
        dir = makeTemporaryDirectory("latent-pairs")
        // 12 trajectories → 8 train; 9 latents → 8 pairs each for k = 1: 64 train pairs.
        _ = try LatentFixture(dir, trajectories: 12, count: 9, dimension: 3)
        data = try LatentDataset(directory: dir)
    }

    override func tearDown() { removeDirectory(dir) }

    func testPairStartsCoverTZeroToTMinusOneMinusK() {
        for k in [1, 3] {
            let pairs = data.pairStarts(of: .train, steps: k)
            XCTAssertEqual(pairs.count, 8 * (9 - k))
            for id in data.splits.train {
                XCTAssertEqual(pairs.filter { $0.trajectory == id }.map(\.t), Array(0...(9 - 1 - k)))
            }
        }
    }

    /// 64 pairs divide by 1, 2 and 4 ranks (drop-free even with tail .drop); 3 ranks pad by 2 (64 = 3·21 + 1 → 66).
    func testEveryPairOncePerEpochOverAllRanks() throws {
        let all = Set(data.pairStarts(of: .train))
        for world in [1, 2, 3, 4] {
            let localBatch = 5
            let samplers = try (0..<world).map { try LatentPairSampler(dataset: data, rank: $0, worldSize: world, localBatch: localBatch, seed: 42) }
            XCTAssertEqual(Set(samplers.map(\.stepsPerEpoch)).count, 1, "world \(world): every rank runs the same number of steps")
            for epoch in 0..<2 {
                var seen: [Window] = []
                for s in samplers {
                    for step in 0..<s.stepsPerEpoch { seen += s.batch(at: LoaderPosition(epoch: epoch, step: step)).pairs }
                }
                let total = samplers[0].sampler.totalSize
                XCTAssertEqual(seen.count, total, "world \(world) epoch \(epoch)")
                XCTAssertEqual(Set(seen), all, "world \(world) epoch \(epoch): every pair drawn")
                XCTAssertEqual(seen.count - Set(seen).count, total - all.count, "world \(world): only the padding repeats")
                if 64 % world == 0 { XCTAssertEqual(seen.count, 64, "world \(world): exactly once") }
            }
            // Tail .drop: each drawn at most once.
            let dropped = try (0..<world).map { try LatentPairSampler(dataset: data, rank: $0, worldSize: world, localBatch: localBatch,
                                                                       seed: 42, config: SamplerConfig(tail: .drop)) }
            let drawn = dropped.flatMap { s in (0..<s.stepsPerEpoch).flatMap { s.batch(at: LoaderPosition(epoch: 0, step: $0)).pairs } }
            XCTAssertEqual(drawn.count, Set(drawn).count)
            XCTAssertEqual(drawn.count, 64 - 64 % world)
        }
    }

    /// Every rank holds the same permutation, and rank r's share of global batch s is exactly every
    /// world-th pair of that global run of the permutation.
    func testIdenticalPermutationAndGlobalBatchShares() throws {
        let world = 3, localBatch = 4
        let samplers = try (0..<world).map { try LatentPairSampler(dataset: data, rank: $0, worldSize: world, localBatch: localBatch, seed: 9) }
        for epoch in 0..<3 {
            let p = samplers[0].sampler.permutation(epoch: epoch)
            for s in samplers { XCTAssertEqual(s.sampler.permutation(epoch: epoch), p) }
            XCTAssertNotEqual(p, Array(0..<p.count), "shuffled")
            if epoch > 0 { XCTAssertNotEqual(p, samplers[0].sampler.permutation(epoch: epoch - 1), "a new order each epoch") }
            for step in 0..<samplers[0].stepsPerEpoch {
                let global = (0..<(localBatch * world)).compactMap { i -> Window? in
                    let k = step * localBatch * world + i
                    return k < samplers[0].sampler.totalSize ? samplers[0].sampler.windows[p[k % p.count]] : nil
                }
                for (r, s) in samplers.enumerated() {
                    let mine = s.batch(at: LoaderPosition(epoch: epoch, step: step)).pairs
                    XCTAssertEqual(mine, stride(from: r, to: global.count, by: world).map { global[$0] }, "epoch \(epoch) step \(step) rank \(r)")
                }
            }
        }
        // A different seed gives a different order.
        let other = try LatentPairSampler(dataset: data, rank: 0, worldSize: world, localBatch: localBatch, seed: 10)
        XCTAssertNotEqual(other.sampler.permutation(epoch: 0), samplers[0].sampler.permutation(epoch: 0))
    }

    func testBatchArraysHoldTheLatentsOfTheirPairs() throws {
        let k = 2
        let s = try LatentPairSampler(dataset: data, steps: k, rank: 1, worldSize: 2, localBatch: 7, seed: 3)
        let b = s.nextBatch()
        XCTAssertEqual(b.count, 7)
        XCTAssertEqual(b.start.count, 7 * 3)
        XCTAssertEqual(b.targets.count, k)
        for (row, p) in b.pairs.enumerated() {
            let z = data.trajectory(id: p.trajectory)!
            XCTAssertEqual(Array(b.start[(row * 3)..<(row * 3 + 3)]).map(\.bitPattern), Array(z.latent(p.t)).map(\.bitPattern))
            for j in 0..<k {
                XCTAssertEqual(Array(b.targets[j][(row * 3)..<(row * 3 + 3)]).map(\.bitPattern), Array(z.latent(p.t + j + 1)).map(\.bitPattern))
            }
            XCTAssertEqual(z.split, .train)
        }
    }

    /// Run 2.5 epochs, save the position mid-way, restore it in a fresh sampler: the same batches, bit for bit.
    func testResumeFromSavedPositionReproducesTheBatches() throws {
        func make() throws -> LatentPairSampler { try LatentPairSampler(dataset: data, rank: 1, worldSize: 2, localBatch: 6, seed: 77) }
        let a = try make()
        XCTAssertEqual(a.stepsPerEpoch, 6)   // 32 pairs per rank → 5 full batches and one of 2
        var batches: [LatentBatch] = []
        for _ in 0..<15 { batches.append(a.nextBatch()) }
        XCTAssertEqual(batches[5].count, 2, "the epoch's last, smaller batch is kept")
        XCTAssertEqual(batches[6].position, LoaderPosition(epoch: 1, step: 0))
        let saved = batches[8].position
        let encoded = try JSONCoding.encode(saved)   // as a checkpoint stores it
        let b = try make()
        try b.seek(to: try JSONCoding.decode(LoaderPosition.self, from: encoded, file: "position"))
        for i in 8..<15 {
            let x = b.nextBatch()
            XCTAssertEqual(x.pairs, batches[i].pairs, "batch \(i)")
            XCTAssertEqual(x.position, batches[i].position)
            XCTAssertEqual(x.start.map(\.bitPattern), batches[i].start.map(\.bitPattern))
            XCTAssertEqual(x.targets.map { $0.map(\.bitPattern) }, batches[i].targets.map { $0.map(\.bitPattern) })
        }
        XCTAssertEqual(b.position, a.position)
        XCTAssertThrowsError(try b.seek(to: LoaderPosition(epoch: 0, step: 6))) { e in
            XCTAssertTrue("\(e)".contains("different batch size"), "\(e)")
        }
    }

    func testValidationPairSetSplitsOverRanksWithoutPadding() throws {
        let whole = try LatentPairSet(dataset: data, split: .validation)
        XCTAssertEqual(whole.count, 2 * 8)
        XCTAssertEqual(whole.globalCount, 16)
        let parts = try (0..<3).map { try LatentPairSet(dataset: data, split: .validation, rank: $0, worldSize: 3) }
        XCTAssertEqual(parts.map(\.count).reduce(0, +), 16)
        XCTAssertEqual(Set(parts.flatMap(\.pairs)), Set(whole.pairs))
        XCTAssertTrue(whole.pairs.allSatisfy { data.trajectory(id: $0.trajectory)!.split == .validation })
        XCTAssertEqual(whole.targets[0].count, 16 * 3)
    }
}
