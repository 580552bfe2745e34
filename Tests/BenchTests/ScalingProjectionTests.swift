import Bench
import XCTest

/// The scaling projection's formulas against values worked out by hand (the arithmetic is in the
/// comments), so a changed term, factor or link choice fails here.
final class ScalingProjectionTests: XCTestCase {
    typealias P = ScalingProjection
    let intra = P.Link(name: "node", latencySeconds: 1e-5, bytesPerSecond: 1e10)
    let tenGigabit = P.Link.network(gigabitsPerSecond: 10, latencyMicroseconds: 20)   // 1.25e9 B/s, 2e-5 s

    func testRingAllreduce() {
        let link = P.Link(name: "l", latencySeconds: 1e-5, bytesPerSecond: 1e9)
        // p 4: 2·3/4 · 4e6 / 1e9 = 0.006, plus 2·3 · 1e-5 = 6e-5.
        XCTAssertEqual(P.ringAllreduceSeconds(bytes: 4e6, ranks: 4, link: link), 0.00606, accuracy: 1e-12)
        // p 2: 1 · 4e6 / 1e9 = 0.004, plus 2e-5.
        XCTAssertEqual(P.ringAllreduceSeconds(bytes: 4e6, ranks: 2, link: link), 0.00402, accuracy: 1e-12)
        XCTAssertEqual(P.ringAllreduceSeconds(bytes: 4e6, ranks: 1, link: link), 0)
    }

    func testNetworkLinkIsNominalRate() {
        XCTAssertEqual(tenGigabit.bytes_per_second, 1.25e9)
        XCTAssertEqual(tenGigabit.latency_seconds, 2e-5, accuracy: 1e-18)
        XCTAssertEqual(tenGigabit.name, "10 Gb/s, 20 µs")
    }

    func testTwoLevelAllreduce() {
        // p 64, 8 per node: the node's ring 2·7/8 · 4e6/1e10 + 14 · 1e-5 = 8.4e-4; between the 8 nodes
        // 2·7/8 · 4e6/1.25e9 = 5.6e-3 + 14 · 2e-5 = 2.8e-4.
        XCTAssertEqual(P.twoLevelAllreduceSeconds(bytes: 4e6, ranks: 64, ranksPerNode: 8, intra: intra, inter: tenGigabit),
                       8.4e-4 + 5.88e-3, accuracy: 1e-12)
        // On one node it is the node's ring.
        XCTAssertEqual(P.twoLevelAllreduceSeconds(bytes: 4e6, ranks: 8, ranksPerNode: 8, intra: intra, inter: tenGigabit),
                       8.4e-4, accuracy: 1e-12)
    }

    func testCeilLog2() {
        XCTAssertEqual([1, 2, 3, 4, 8, 9, 64, 512, 513].map(P.ceilLog2), [0, 1, 2, 2, 3, 4, 6, 9, 10])
    }

    func testSmallAllreduceSplitsRoundsBetweenNodeAndNetwork() {
        let inner = P.Link(name: "i", latencySeconds: 1e-6, bytesPerSecond: 1e10)
        let outer = P.Link(name: "o", latencySeconds: 1e-5, bytesPerSecond: 1e9)
        // p 8, 2 per node: 3 rounds, 1 on the node (1e-6 + 1e3/1e10 = 1.1e-6), 2 across (1e-5 + 1e-6 each).
        XCTAssertEqual(P.smallAllreduceSeconds(bytes: 1000, ranks: 8, ranksPerNode: 2, intra: inner, inter: outer),
                       2.31e-5, accuracy: 1e-15)
        // p 2 on an 8-rank node: one round, on the node.
        XCTAssertEqual(P.smallAllreduceSeconds(bytes: 1000, ranks: 2, ranksPerNode: 8, intra: inner, inter: outer),
                       1.1e-6, accuracy: 1e-15)
    }

    func testBucketedExposedTime() {
        // One bucket is the plain allreduce.
        XCTAssertEqual(P.bucketedExposedSeconds(bandwidthSeconds: 0.1, latencySeconds: 0.01, backwardSeconds: 0.3, buckets: 1),
                       0.11, accuracy: 1e-15)
        // Long backward: only the last bucket shows, 0.1/4 + 0.01.
        XCTAssertEqual(P.bucketedExposedSeconds(bandwidthSeconds: 0.1, latencySeconds: 0.01, backwardSeconds: 0.3, buckets: 4),
                       0.035, accuracy: 1e-15)
        // Backward-bound in between: 0.4 − 0.4·3/4 = 0.1 (= the last bucket's 0.4/4 as well).
        XCTAssertEqual(P.bucketedExposedSeconds(bandwidthSeconds: 0.4, latencySeconds: 0, backwardSeconds: 0.4, buckets: 4),
                       0.1, accuracy: 1e-15)
        // Latency-bound: 4 buckets pay 4 latencies, more than backward hides: 0.01 + 0.2 − 0.1·3/4 = 0.135 > 0.06 unbucketed.
        XCTAssertEqual(P.bucketedExposedSeconds(bandwidthSeconds: 0.01, latencySeconds: 0.05, backwardSeconds: 0.1, buckets: 4),
                       0.135, accuracy: 1e-15)
    }

    /// 1 M floats of gradient (4e6 bytes), 10 ms per sample, 2 ms of optimizer, two 40-byte SyncBN
    /// reductions; 8 ranks per node on a 1e10 B/s, 10 µs node, 10 Gb/s and 20 µs between nodes.
    private var cost: P.PhaseCost {
        P.PhaseCost(phase: "ae", computeSecondsPerSample: 0.01, fixedSecondsPerStep: 0.002, gradientFloats: 1_000_000,
                    smallReductionBytes: [40, 40], measuredLocalBatch: 16)
    }
    private var assumptions: P.Assumptions { P.Assumptions(ranksPerNode: 8, intraNode: intra, interNode: tenGigabit) }

    func testStrongScalingOnOneNode() throws {
        let s = try XCTUnwrap(P.step(cost, ranks: 8, scaling: .strong(globalBatch: 512), assumptions: assumptions))
        XCTAssertEqual(s.nodes, 1)
        XCTAssertEqual(s.link, "node")
        XCTAssertEqual(s.local_batch, 64)
        XCTAssertEqual(s.compute_seconds, 0.64, accuracy: 1e-12)
        // Ring on the node: 2·7/8 · 4e6/1e10 = 7e-4, plus 14 · 1e-5 = 1.4e-4.
        XCTAssertEqual(s.gradient_allreduce_seconds, 8.4e-4, accuracy: 1e-12)
        // Each small reduction: 3 rounds on the node of 1e-5 + 40/1e10.
        XCTAssertEqual(s.small_reductions_seconds, 2 * 3 * (1e-5 + 4e-9), accuracy: 1e-15)
        XCTAssertEqual(s.step_seconds, 0.642900024, accuracy: 1e-12)
        // T(1) = 0.002 + 512 · 0.01 = 5.122.
        XCTAssertEqual(s.efficiency, 5.122 / (8 * 0.642900024), accuracy: 1e-12)
        XCTAssertEqual(s.samples_per_second, 512 / 0.642900024, accuracy: 1e-9)
        // Backward 2/3 · 0.64 hides all but the last bucket: 7e-4/4 + 1.4e-4 = 3.15e-4; saves 5.25e-4,
        // under 5% of the step.
        XCTAssertEqual(s.bucketed_exposed_seconds, 3.15e-4, accuracy: 1e-12)
        XCTAssertEqual(s.bucketing_saves_seconds, 5.25e-4, accuracy: 1e-12)
        XCTAssertFalse(s.bucketing_pays)
    }

    func testStrongScalingAcrossNodes() throws {
        let s = try XCTUnwrap(P.step(cost, ranks: 64, scaling: .strong(globalBatch: 512), assumptions: assumptions))
        XCTAssertEqual(s.nodes, 8)
        XCTAssertEqual(s.link, "10 Gb/s, 20 µs")
        XCTAssertEqual(s.local_batch, 8)
        // Ring over the network: 2·63/64 · 4e6/1.25e9 = 6.3e-3, plus 126 · 2e-5 = 2.52e-3.
        XCTAssertEqual(s.gradient_allreduce_seconds, 8.82e-3, accuracy: 1e-12)
        XCTAssertEqual(s.two_level_allreduce_seconds, 6.72e-3, accuracy: 1e-12)
        // 6 rounds: 3 on the node (1e-5 + 4e-9), 3 across (2e-5 + 40/1.25e9 = 2e-5 + 3.2e-8), twice.
        XCTAssertEqual(s.small_reductions_seconds, 1.80216e-4, accuracy: 1e-15)
        XCTAssertEqual(s.step_seconds, 0.091000216, accuracy: 1e-12)
        XCTAssertEqual(s.efficiency, 5.122 / (64 * 0.091000216), accuracy: 1e-12)
        // Exposed with 4 buckets: 6.3e-3/4 + 2.52e-3 = 4.095e-3; saves 4.725e-3 ≥ 5% of 0.0910 = 4.55e-3.
        XCTAssertEqual(s.bucketed_exposed_seconds, 4.095e-3, accuracy: 1e-12)
        XCTAssertTrue(s.bucketing_pays)
    }

    /// A node whose shared memory is slower than its network: the ring's node edges pace it.
    func testRingAcrossNodesWaitsForTheSlowerLink() throws {
        let slowNode = P.Link(name: "slow node", latencySeconds: 1e-5, bytesPerSecond: 1e9)
        let fast = P.Link.network(gigabitsPerSecond: 100, latencyMicroseconds: 2)   // 1.25e10 B/s, 2e-6 s
        let a = P.Assumptions(ranksPerNode: 8, intraNode: slowNode, interNode: fast)
        let s = try XCTUnwrap(P.step(cost, ranks: 64, scaling: .strong(globalBatch: 512), assumptions: a))
        XCTAssertEqual(s.link, "100 Gb/s, 2 µs")
        XCTAssertEqual(s.ring_limited_by, "slow node")
        // 2·63/64 · 4e6/1e9 = 7.875e-3, plus 126 · 1e-5 = 1.26e-3 (the network's ring would take 8.82e-4).
        XCTAssertEqual(s.gradient_allreduce_seconds, 9.135e-3, accuracy: 1e-12)
        // The usual case: the network is the slower.
        let usual = try XCTUnwrap(P.step(cost, ranks: 64, scaling: .strong(globalBatch: 512), assumptions: assumptions))
        XCTAssertEqual(usual.ring_limited_by, "10 Gb/s, 20 µs")
    }

    func testStrongScalingRoundsUpAndStopsAtOneSamplePerRank() throws {
        let ode = P.PhaseCost(phase: "ode", computeSecondsPerSample: 1e-5, fixedSecondsPerStep: 0, gradientFloats: 1000,
                              smallReductionBytes: [], measuredLocalBatch: 20_000)
        // 20,000 / 512 = 39.06: the slowest rank holds 40.
        XCTAssertEqual(P.step(ode, ranks: 512, scaling: .strong(globalBatch: 20_000), assumptions: assumptions)?.local_batch, 40)
        XCTAssertEqual(P.step(cost, ranks: 512, scaling: .strong(globalBatch: 512), assumptions: assumptions)?.local_batch, 1)
        XCTAssertNil(P.step(cost, ranks: 1024, scaling: .strong(globalBatch: 512), assumptions: assumptions))
        XCTAssertEqual(P.step(ode, ranks: 512, scaling: .strong(globalBatch: 20_000), assumptions: assumptions)?.small_reductions_seconds, 0)
    }

    func testWeakScaling() throws {
        let s = try XCTUnwrap(P.step(cost, ranks: 64, scaling: .weak(localBatch: 16), assumptions: assumptions))
        XCTAssertEqual(s.global_batch, 1024)
        XCTAssertEqual(s.step_seconds, 0.002 + 0.16 + 8.82e-3 + 1.80216e-4, accuracy: 1e-12)
        XCTAssertEqual(s.efficiency, 0.162 / 0.171000216, accuracy: 1e-12)
        // One rank: no communication, efficiency 1.
        let one = try XCTUnwrap(P.step(cost, ranks: 1, scaling: .weak(localBatch: 16), assumptions: assumptions))
        XCTAssertEqual(one.efficiency, 1, accuracy: 1e-15)
        XCTAssertEqual(one.communication_share, 0)
        XCTAssertEqual(one.link, "none")
    }

    func testRingFitRecoversLatencyAndBandwidth() throws {
        // α 5 µs, B 2e9 at p 2: 4 B take 1e-5 + 2e-9; 4e6 B take 1e-5 + 2e-3.
        let two = try XCTUnwrap(P.fitRing(name: "shm", ranks: 2, smallBytes: 4, smallSeconds: 1.0002e-5,
                                          largeBytes: 4e6, largeSeconds: 2.01e-3))
        XCTAssertEqual(two.latency_seconds, 5e-6, accuracy: 1e-15)
        XCTAssertEqual(two.bytes_per_second, 2e9, accuracy: 1)
        // The same link at p 4: 6α = 3e-5, 1.5 · bytes / B.
        let four = try XCTUnwrap(P.fitRing(name: "shm", ranks: 4, smallBytes: 4, smallSeconds: 3.0003e-5,
                                           largeBytes: 4e6, largeSeconds: 3.03e-3))
        XCTAssertEqual(four.latency_seconds, 5e-6, accuracy: 1e-15)
        XCTAssertEqual(four.bytes_per_second, 2e9, accuracy: 1)
        // A large message no slower than the small one fits nothing.
        XCTAssertNil(P.fitRing(name: "x", ranks: 2, smallBytes: 4, smallSeconds: 1e-3, largeBytes: 4e6, largeSeconds: 1e-3))
    }
}
