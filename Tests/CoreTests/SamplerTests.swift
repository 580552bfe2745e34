import XCTest
@testable import Core

final class SamplerTests: XCTestCase {
    let description = DatasetDescription(system: "p", frameCount: 10, height: 1, width: 1, channels: 1, dt: 0.1, stateNames: [])

    func testWindowsOfTrajectoryAndTimeSplits() {
        let splits = DatasetSplits(train: [4, 2], validation: [9], test: [])
        let w = WindowSampler.splitWindows(.train, description: description, splits: splits, allTrajectories: [2, 4, 9])
        XCTAssertEqual(w.count, 2 * 7)   // T − 3 windows per trajectory
        XCTAssertEqual(w.first, Window(trajectory: 4, t: 0))
        XCTAssertEqual(w[6], Window(trajectory: 4, t: 6))   // last window uses frames 6…9
        XCTAssertEqual(w[7], Window(trajectory: 2, t: 0))
        XCTAssertTrue(WindowSampler.splitWindows(.test, description: description, splits: splits, allTrajectories: [2, 4, 9]).isEmpty)
        // Time split (circle): windows stay inside [start, end).
        let time = DatasetSplits(train: [], validation: [], test: [], trainFrames: [0, 7], validationFrames: [7, 10], testFrames: [6, 9])
        let tw = WindowSampler.splitWindows(.train, description: description, splits: time, allTrajectories: [0])
        XCTAssertEqual(tw.map(\.t), [0, 1, 2, 3])   // t + 3 ≤ 6
        XCTAssertTrue(WindowSampler.splitWindows(.validation, description: description, splits: time, allTrajectories: [0]).isEmpty)
        // [6, 9) holds only 3 frames: no complete window.
        XCTAssertTrue(WindowSampler.splitWindows(.test, description: description, splits: time, allTrajectories: [0, 1]).isEmpty)
        let listed = DatasetSplits(train: [1], validation: [], test: [], trainFrames: [2, 8])
        XCTAssertEqual(WindowSampler.splitWindows(.train, description: description, splits: listed, allTrajectories: [0, 1]),
                       (2...4).map { Window(trajectory: 1, t: $0) })
    }

    func testPermutationIsSeededAndDiffersByEpoch() {
        let windows = (0..<100).map { Window(trajectory: $0, t: 0) }
        let a = WindowSampler(windows: windows, rank: 0, worldSize: 1, seed: 7)
        let b = WindowSampler(windows: windows, rank: 0, worldSize: 1, seed: 7)
        XCTAssertEqual(a.permutation(epoch: 3), b.permutation(epoch: 3))
        XCTAssertEqual(a.permutation(epoch: 3).sorted(), Array(0..<100))
        XCTAssertNotEqual(a.permutation(epoch: 3), a.permutation(epoch: 4))
        XCTAssertNotEqual(a.permutation(epoch: 0), Array(0..<100))
        XCTAssertNotEqual(a.permutation(epoch: 0), WindowSampler(windows: windows, rank: 0, worldSize: 1, seed: 8).permutation(epoch: 0))
        XCTAssertEqual(WindowSampler(windows: windows, rank: 0, worldSize: 1, shuffle: false, seed: 7).permutation(epoch: 5), Array(0..<100))
        // The rank does not enter the permutation.
        XCTAssertEqual(WindowSampler(windows: windows, rank: 2, worldSize: 3, seed: 7).permutation(epoch: 1), a.permutation(epoch: 1))
    }

    func testUniformBelowIsInRangeAndRoughlyUniform() {
        var rng = RNG(seed: 1)
        var counts = [Int](repeating: 0, count: 6)
        for _ in 0..<60_000 { counts[WindowSampler.uniform(below: 6, &rng)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }   // ~4σ
    }

    func testDropTailEveryWindowAtMostOnceAndEqualCounts() {
        for n in [1, 5, 13, 57, 100] {
            let windows = (0..<n).map { Window(trajectory: $0 / 10, t: $0 % 10) }
            for world in 1...7 {
                let samplers = (0..<world).map { WindowSampler(windows: windows, rank: $0, worldSize: world, tail: .drop, seed: 42) }
                let per = samplers.map { $0.windows(epoch: 2) }
                XCTAssertEqual(Set(per.map(\.count)), [n / world], "n \(n) world \(world)")
                let all = per.flatMap { $0 }
                XCTAssertEqual(Set(all).count, all.count, "a window twice (n \(n), world \(world))")
                XCTAssertEqual(all.count, n - n % world)
                // Exactly the permutation's tail is dropped.
                let perm = samplers[0].permutation(epoch: 2)
                XCTAssertEqual(Set(all), Set(perm.prefix(n - n % world).map { windows[$0] }))
            }
        }
    }

    func testPadModeCoversEveryWindowWithEqualCounts() {
        for n in [1, 3, 13, 57] {
            let windows = (0..<n).map { Window(trajectory: $0, t: 0) }
            for world in 1...7 {
                let per = (0..<world).map { WindowSampler(windows: windows, rank: $0, worldSize: world, tail: .pad, seed: 9).windows(epoch: 0) }
                let expected = (n + world - 1) / world
                XCTAssertEqual(Set(per.map(\.count)), [expected], "n \(n) world \(world)")
                let all = per.flatMap { $0 }
                XCTAssertEqual(Set(all), Set(windows), "every window at least once (n \(n), world \(world))")
                // Padding repeats windows from the start of the permutation, cycling when world > n.
                var multiplicity: [Window: Int] = [:]
                for w in all { multiplicity[w, default: 0] += 1 }
                let perm = WindowSampler(windows: windows, rank: 0, worldSize: world, seed: 9).permutation(epoch: 0)
                for k in 0..<(expected * world) {
                    let w = windows[perm[k % n]]
                    XCTAssertEqual(multiplicity[w], (expected * world - 1 - perm.firstIndex(of: perm[k % n])!) / n + 1)
                }
            }
        }
    }

    func testStridedInterleaving() {
        let windows = (0..<10).map { Window(trajectory: $0, t: 0) }
        let s = WindowSampler(windows: windows, rank: 1, worldSize: 3, shuffle: false, tail: .pad, seed: 0)
        XCTAssertEqual(s.indices(epoch: 0), [1, 4, 7, 0])   // indices[r::world] of 0…9 padded with 0, 1
        XCTAssertEqual(WindowSampler(windows: windows, rank: 2, worldSize: 3, shuffle: false, tail: .drop, seed: 0).indices(epoch: 0), [2, 5, 8])
    }
}
