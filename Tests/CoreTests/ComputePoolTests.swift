import Dispatch
import XCTest
@testable import Core

/// `ComputePool`, the layers' threads: every index of every section runs exactly once, with as many
/// threads as the section allows and no more, sections started inside a section or from another
/// thread at the same time run serially on their callers, and a long pause (workers asleep) does not
/// lose the next section.
final class ComputePoolTests: XCTestCase {
    /// Many back-to-back sections of different sizes: each index once, and the section is complete
    /// when `run` returns.
    func testEveryIndexRunsOnceAndTheSectionIsCompleteOnReturn() {
        let pool = ComputePool.shared
        for round in 0..<2_000 {
            let count = 2 + round % 9
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
            hits.initialize(repeating: 0, count: count)
            // Each index writes only its own slot, as the layers' sections do, after a few
            // microseconds of work so the workers take part.
            pool.run(count, threads: 2 + round % 3) { i, _ in
                var x = Double(i)
                for k in 0..<2_000 { x = x * 0.999 + Double(k & 7) }
                hits[i] += x.isFinite ? 1 : 0
            }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: hits, count: count)), [Int](repeating: 1, count: count), "round \(round)")
            hits.deallocate()
        }
    }

    /// A section of budget T runs on at most T threads at once, even after a wider section started
    /// more workers, and the threads' slots are below T and never shared by two running bodies.
    func testASectionUsesAtMostItsThreads() {
        let pool = ComputePool.shared
        pool.run(4, threads: 4) { _, _ in usleep(1_000) }   // start three workers
        let lock = NSLock()
        var active = 0, most = 0, perSlot = [0, 0, 0, 0], slotClash = false, slotOutOfRange = false
        for _ in 0..<50 {
            pool.run(8, threads: 2) { _, slot in
                lock.lock()
                active += 1; most = max(most, active)
                if slot >= 2 { slotOutOfRange = true } else { perSlot[slot] += 1; if perSlot[slot] > 1 { slotClash = true } }
                lock.unlock()
                usleep(200)
                lock.lock(); active -= 1; if slot < 2 { perSlot[slot] -= 1 }; lock.unlock()
            }
        }
        XCTAssertFalse(slotOutOfRange, "a slot at or beyond the section's 2 threads")
        XCTAssertFalse(slotClash, "two bodies ran at once with the same slot")
        XCTAssertLessThanOrEqual(most, 2)
        XCTAssertEqual(most, 2, "the workers take part (1 ms of sleeping indices per section)")
        XCTAssertEqual(active, 0)
    }

    /// A section inside a section, and two threads starting sections at once: each runs, every index
    /// once (the inner and the concurrent one serially on their callers).
    func testNestedAndConcurrentSectionsRunEveryIndex() {
        let pool = ComputePool.shared
        let inner = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 3)
        inner.initialize(repeating: 0, count: 12)
        defer { inner.deallocate() }
        pool.run(4, threads: 2) { i, _ in
            pool.run(3, threads: 2) { j, _ in inner[i * 3 + j] += 1 }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: inner, count: 12)), [Int](repeating: 1, count: 12))

        let sums = UnsafeMutablePointer<Int>.allocate(capacity: 2 * 1_000)
        sums.initialize(repeating: 0, count: 2_000)
        defer { sums.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 2) { caller in
            for round in 0..<200 {
                pool.run(5, threads: 2) { i, _ in sums[caller * 1_000 + round * 5 % 1_000 + i] += 1 }
            }
        }
        XCTAssertEqual((0..<2_000).reduce(0) { $0 + sums[$1] }, 2 * 200 * 5)
    }

    /// After the workers have gone to sleep, the next section still gets every index done.
    func testSectionsAfterTheWorkersSleep() {
        let pool = ComputePool.shared
        for _ in 0..<5 {
            usleep(20_000)   // far past the workers' watching time
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: 6)
            hits.initialize(repeating: 0, count: 6)
            pool.run(6, threads: 2) { i, _ in hits[i] += 1 }
            XCTAssertEqual(Array(UnsafeBufferPointer(start: hits, count: 6)), [Int](repeating: 1, count: 6))
            hits.deallocate()
        }
    }
}
