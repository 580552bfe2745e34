import Foundation
import XCTest
@testable import Core

final class LoaderTests: XCTestCase {
    var dir = ""
    var seqs: [FrameSequence] = []
    var reader: DatasetReader!

    override func setUpWithError() throws {
        dir = makeTemporaryDirectory("loader")
        // 12 trajectories × 10 frames: 10 train (70 windows), 1 validation, 1 test.
        seqs = try writeTestDataset(dir, count: 12, perShard: 5, frames: 10, height: 4, width: 6)
        reader = try DatasetReader(directory: dir)
    }

    override func tearDown() { reader = nil; removeDirectory(dir) }

    func testBatchContentsArePairsSideBySide() throws {
        let loader = try BatchLoader(reader: reader, split: .train, rank: 0, worldSize: 1, localBatch: 8, seed: 1)
        let batch = try loader.nextBatch()
        XCTAssertEqual(batch.x.shape, [8, 3, 4, 12])
        XCTAssertEqual(batch.y.shape, [8, 3, 4, 12])
        XCTAssertEqual(batch.position, LoaderPosition(epoch: 0, step: 0))
        for (n, w) in batch.windows.enumerated() {
            let s = seqs.first { $0.id == w.trajectory }!
            for c in 0..<3 { for h in 0..<4 { for col in 0..<12 {
                let half = col / 6, x = col % 6
                func pixel(_ f: Int) -> Float { Float(s.frames[((f * 4 + h) * 6 + x) * 3 + c]) / 255 }
                let i = ((n * 3 + c) * 4 + h) * 12 + col
                XCTAssertEqual(batch.x[i], pixel(w.t + half), "X window \(w) c\(c) h\(h) col\(col)")
                XCTAssertEqual(batch.y[i], pixel(w.t + 2 + half), "Y window \(w) c\(c) h\(h) col\(col)")
            } } }
        }
    }

    /// Several simulated ranks over a dataset 5× larger than each rank's cache: every training window
    /// seen exactly once per epoch (drop tail), the cache never above its bound.
    func testEpochAcrossRanksSeesEveryWindowOnceWithBoundedCache() throws {
        let world = 3, trajectoryBytes = 10 * 4 * 6 * 3
        let all = reader.windows(of: .train)
        XCTAssertEqual(all.count, 70)
        for epoch in 0..<2 {
            var seen: [Window] = []
            var steps: Set<Int> = []
            for rank in 0..<world {
                let loader = try BatchLoader(reader: reader, split: .train, sampler: SamplerConfig(tail: .drop), rank: rank,
                                             worldSize: world, localBatch: 4, seed: 77, cacheCapacity: .trajectories(2),
                                             prefetch: 2, start: LoaderPosition(epoch: epoch, step: 0))
                steps.insert(loader.stepsPerEpoch)
                for step in 0..<loader.stepsPerEpoch {
                    let b = try loader.nextBatch()
                    XCTAssertEqual(b.position, LoaderPosition(epoch: epoch, step: step))
                    seen += b.windows
                }
                XCTAssertEqual(loader.position, LoaderPosition(epoch: epoch + 1, step: 0))
                let stats = loader.cache.statistics
                XCTAssertLessThanOrEqual(stats.peakBytes, 2 * trajectoryBytes)
                XCTAssertGreaterThan(stats.evictions, 0, "the cache must actually have been under pressure")
                XCTAssertGreaterThan(stats.misses, 10)
            }
            XCTAssertEqual(steps, [6])   // 70 / 3 = 23 windows per rank → 6 batches of 4 (last of 3)
            XCTAssertEqual(seen.count, 69)
            XCTAssertEqual(Set(seen).count, 69, "a window was seen twice in epoch \(epoch)")
            XCTAssertTrue(Set(seen).isSubset(of: Set(all)))
        }
    }

    func testPaddingModeRepeatsToEqualCounts() throws {
        var seen: [Window] = []
        for rank in 0..<4 {
            let loader = try BatchLoader(reader: reader, split: .train, sampler: SamplerConfig(tail: .pad), rank: rank,
                                         worldSize: 4, localBatch: 5, seed: 3, prefetch: 0)
            XCTAssertEqual(loader.stepsPerEpoch, 4)   // ceil(70 / 4) = 18 → 4 batches (5, 5, 5, 3)
            var sizes: [Int] = []
            for _ in 0..<loader.stepsPerEpoch { let b = try loader.nextBatch(); sizes.append(b.windows.count); seen += b.windows }
            XCTAssertEqual(sizes, [5, 5, 5, 3])
        }
        XCTAssertEqual(seen.count, 72)
        XCTAssertEqual(Set(seen), Set(reader.windows(of: .train)))   // all 70, two repeated
    }

    func testEqualStepCountsForWorldSizes1To7IncludingMoreRanksThanTrajectories() throws {
        // The validation split has ONE trajectory (7 windows): world 7 gives 1 window per rank.
        for split in [SplitName.train, .validation] {
            for world in 1...7 {
                var steps: Set<Int> = [], sizes: Set<[Int]> = []
                for rank in 0..<world {
                    let loader = try BatchLoader(reader: reader, split: split, rank: rank, worldSize: world, localBatch: 3,
                                                 seed: 5, prefetch: rank % 2 == 0 ? 1 : 0)
                    steps.insert(loader.stepsPerEpoch)
                    sizes.insert(try (0..<loader.stepsPerEpoch).map { _ in try loader.nextBatch().windows.count })
                }
                XCTAssertEqual(steps.count, 1, "\(split) world \(world): steps differ \(steps)")
                XCTAssertEqual(sizes.count, 1, "\(split) world \(world): batch sizes differ \(sizes)")
            }
        }
        // Drop-tail with more ranks than windows leaves nothing to train on: a clear error, not a hang.
        XCTAssertThrowsError(try BatchLoader(reader: reader, split: .validation, sampler: SamplerConfig(tail: .drop),
                                             rank: 0, worldSize: 8, localBatch: 1, seed: 0)) {
            XCTAssertTrue("\($0)".contains("7 windows"), "\($0)")
        }
    }

    func testPositionSaveAndRestoreReplaysExactly() throws {
        let a = try BatchLoader(reader: reader, split: .train, rank: 1, worldSize: 2, localBatch: 4, seed: 11)
        XCTAssertEqual(a.stepsPerEpoch, 9)   // 35 per rank
        for _ in 0..<12 { _ = try a.nextBatch() }
        let saved = a.position
        XCTAssertEqual(saved, LoaderPosition(epoch: 1, step: 3))
        let expected = try (0..<10).map { _ in try a.nextBatch() }
        let data = try JSONEncoder().encode(saved)
        let restored = try JSONDecoder().decode(LoaderPosition.self, from: data)
        let b = try BatchLoader(reader: reader, split: .train, rank: 1, worldSize: 2, localBatch: 4, seed: 11, prefetch: 0,
                                start: restored)
        let c = try BatchLoader(reader: reader, split: .train, rank: 1, worldSize: 2, localBatch: 4, seed: 11)
        _ = try c.nextBatch()
        try c.seek(to: restored)
        for e in expected {
            for loader in [b, c] {
                let got = try loader.nextBatch()
                XCTAssertEqual(got.windows, e.windows)
                XCTAssertEqual(got.position, e.position)
                XCTAssertEqual(got.x.array, e.x.array)
                XCTAssertEqual(got.y.array, e.y.array)
            }
        }
        XCTAssertThrowsError(try c.seek(to: LoaderPosition(epoch: 0, step: 9)))
    }

    func testErrorsPropagateFromThePrefetchThreadAndThreadsAreJoined() throws {
        // The threads this test's loaders started, each checked for having exited once its loader
        // is closed or released (counting the process's threads would count other suites' too).
        var threads: [JoinableThread] = []
        do {
            let loader = try BatchLoader(reader: reader, split: .train, sampler: SamplerConfig(shuffle: false), rank: 0,
                                         worldSize: 1, localBatch: 7, seed: 0, cacheCapacity: .trajectories(0), prefetch: 2)
            threads.append(try XCTUnwrap(loader.prefetchThread))
            _ = try loader.nextBatch()   // trajectory 100
            // Damage trajectory 106's frame (batch 6, beyond the 2 prefetched) on disk after the
            // reader validated the shard.
            let shard = reader.shards[1]
            let path = shard.path
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[Int(shard.offsets[1]) + shard.compressedBytes[1] / 2] ^= 0x20
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            // Batches already prefetched may still come; the damaged one must throw, not hang.
            var caught: DatasetError?
            for _ in 0..<8 {
                do { _ = try loader.nextBatch() } catch let e as DatasetError { caught = e; break }
            }
            XCTAssertEqual(caught?.kind, .frameCorrupted)
            XCTAssertTrue(caught?.message.contains("trajectory 106") ?? false, "\(String(describing: caught))")
            XCTAssertThrowsError(try loader.nextBatch())   // sticky
            XCTAssertFalse(threads[0].isJoined, "the loader is still open")
        }
        XCTAssertTrue(threads[0].isJoined, "the failed loader's prefetch thread outlived it")
        for i in 0..<20 {
            let close = i % 2 == 0
            do {
                let l = try BatchLoader(reader: reader, split: .validation, rank: 0, worldSize: 1, localBatch: 2, seed: 0, prefetch: 2)
                threads.append(try XCTUnwrap(l.prefetchThread))
                _ = try l.nextBatch()
                if close { l.close(); XCTAssertNil(l.prefetchThread) }
            }
            XCTAssertTrue(threads.last!.isJoined, "prefetch thread \(i) outlived its loader (\(close ? "closed" : "released"))")
        }
    }

    func testPrefetchDoesNotChangeBatches() throws {
        let a = try BatchLoader(reader: reader, split: .train, rank: 0, worldSize: 1, localBatch: 16, seed: 4, prefetch: 0)
        let b = try BatchLoader(reader: reader, split: .train, rank: 0, worldSize: 1, localBatch: 16, seed: 4, prefetch: 2)
        for _ in 0..<(2 * a.stepsPerEpoch + 1) {
            let x = try a.nextBatch(), y = try b.nextBatch()
            XCTAssertEqual(x.windows, y.windows)
            XCTAssertEqual(x.x.array, y.x.array)
        }
    }

    func testCacheEvictsFarthestNextUseThenLRUAndStaysWithinCapacity() throws {
        func seq(_ id: Int) -> FrameSequence { testTrajectory(id: id, frames: 2, height: 2, width: 2) }   // 24 bytes
        let cache = TrajectoryCache(capacityBytes: 48)
        var loads: [Int] = []
        func get(_ id: Int, _ next: Int = .max) -> FrameSequence { cache.trajectory(id: id, nextUse: next) { loads.append(id); return seq(id) } }
        _ = get(1, 5); _ = get(2, 1)
        _ = get(3, 3)          // evicts 1 (needed at 5, farthest)
        _ = get(2, 4); _ = get(3, 6)
        XCTAssertEqual(loads, [1, 2, 3])
        _ = get(4, 10)         // needed later than both cached ones: returned, not cached
        _ = get(2, 7); _ = get(3, 8)
        XCTAssertEqual(loads, [1, 2, 3, 4])
        _ = get(1)             // unknown next use counts as farthest: not cached either
        _ = get(1)
        XCTAssertEqual(loads, [1, 2, 3, 4, 1, 1])
        // Without next-use hints (all .max) it is plain LRU.
        let lru = TrajectoryCache(capacityBytes: 48)
        var lruLoads: [Int] = []
        for id in [1, 2, 1, 3, 1, 2] { _ = lru.trajectory(id: id) { lruLoads.append(id); return seq(id) } }
        XCTAssertEqual(lruLoads, [1, 2, 3, 2])
        XCTAssertLessThanOrEqual(cache.statistics.peakBytes, 48)
        XCTAssertEqual(lru.statistics.hits, 2)
    }

    /// Circle-style time split: one trajectory, train frames [0, 14), validation [14, 20).
    func testTimeSplitWindowsStayInsideTheirFrameRange() throws {
        let timeDir = makeTemporaryDirectory("timesplit")
        defer { removeDirectory(timeDir) }
        let seq = try writeTestDataset(timeDir, count: 1, perShard: 1, frames: 20, height: 3, width: 3,
                                       splits: DatasetSplits(train: [], validation: [], test: [], trainFrames: [0, 14],
                                                             validationFrames: [14, 20], testFrames: [10, 20]))
        let r = try DatasetReader(directory: timeDir)
        for (split, range, count) in [(SplitName.train, 0..<14, 11), (.validation, 14..<20, 3), (.test, 10..<20, 7)] {
            let loader = try BatchLoader(reader: r, split: split, rank: 0, worldSize: 1, localBatch: 4, seed: 2)
            var seen: [Window] = []
            for _ in 0..<loader.stepsPerEpoch { seen += try loader.nextBatch().windows }
            XCTAssertEqual(seen.count, count, "\(split)")
            XCTAssertEqual(Set(seen).count, count)
            for w in seen {
                XCTAssertEqual(w.trajectory, seq[0].id)
                XCTAssertTrue(range.contains(w.t) && range.contains(w.t + 3), "\(split) window \(w) leaves \(range)")
            }
        }
    }
}
