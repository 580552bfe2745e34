import Bench
import Core
import Foundation
import XCTest

final class GuardedTimerTests: XCTestCase {
    /// The timer repeats the block to fill a sample, returns one sample per request with positive
    /// times, and its median of a block that sleeps 2 ms is at least 2 ms (usleep's guarantee; no
    /// upper bound, which would time the shared machine rather than the timer).
    func testMeasuresMediansOfRepeatedBlocks() {
        var timer = GuardedTimer()
        timer.samples = 3
        timer.maxQuietWait = 0          // never wait in tests; the machine is shared
        timer.maxRetries = 0
        timer.minSampleSeconds = 0.02
        var calls = 0
        let m = timer.measure { calls += 1; usleep(2000) }
        XCTAssertEqual(m.samples.count, 3)
        XCTAssertGreaterThanOrEqual(m.iterations, 2)
        XCTAssertEqual(calls, timer.warmups + 1 + 3 * m.iterations)
        XCTAssertGreaterThanOrEqual(m.median, 0.002)
        XCTAssertLessThanOrEqual(m.best, m.median)
    }

    /// Alternating configurations: warm-ups of each first, then one call of every configuration per
    /// round in order, one sample per call; each measurement holds its own configuration's samples.
    func testAlternatingTakesEveryConfigurationOncePerRoundInOrder() {
        var timer = GuardedTimer()
        timer.samples = 3
        timer.maxQuietWait = 0
        timer.maxRetries = 0
        var calls: [Int] = []
        let ms = timer.measureAlternating(2) { i in calls.append(i); usleep(i == 0 ? 1000 : 4000) }
        XCTAssertEqual(calls, [0, 1] + [0, 1, 0, 1, 0, 1])
        XCTAssertEqual(ms.map(\.samples.count), [3, 3])
        XCTAssertEqual(ms.map(\.iterations), [1, 1])
        XCTAssertGreaterThanOrEqual(ms[1].best, 0.004)
        XCTAssertGreaterThanOrEqual(ms[0].best, 0.001)
    }

    func testOtherCoresIsMeasuredOnLinux() {
        let a = CPUSnapshot.now()
        usleep(50_000)
        let b = CPUSnapshot.now()
        #if os(Linux)
        let others = a.otherCores(until: b)
        XCTAssertNotNil(others)
        XCTAssertGreaterThanOrEqual(others!, 0)
        XCTAssertLessThanOrEqual(others!, Double(ProcessInfo.processInfo.activeProcessorCount) + 0.5)
        #endif
        XCTAssertGreaterThan(b.wall, a.wall)
    }
}
