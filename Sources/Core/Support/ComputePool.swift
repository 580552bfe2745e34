import Foundation
import Synchronization

/// The threads a layer's parallel sections run on: the calling thread plus up to `threads − 1`
/// workers of one process-wide pool.
///
/// Why not `DispatchQueue.concurrentPerform`: it wakes a sleeping worker for every section, and a
/// training step has hundreds of short sections (each layer's chunks, transforms, BatchNorm
/// channels, activations). Measured on Zen 4 (2 cores), two 17 µs halves took 51 µs in parallel —
/// more than the 34 µs serial — and two 167 µs halves 230 µs: about 35–60 µs of wake-up per section,
/// which left one core idle for ~10% of a 2-thread training step. Here a worker that finishes a
/// section keeps watching for the next one for a short while, yielding the core to anything else
/// runnable (`sched_yield`, so ranks sharing cores lose nothing), and only then sleeps.
///
/// Each index runs exactly once, on whichever thread claims it; callers give every index its own
/// scratch and output range, so results do not depend on which thread ran what. A section started
/// while another runs (from a worker, or from another thread) runs serially on its caller.
final class ComputePool: @unchecked Sendable {
    static let shared = ComputePool()

    /// The current section in one word: its generation (bits 32…62), its index count (bits 16…31)
    /// and its next unclaimed index (bits 0…15). A worker that arrives late for one section can
    /// never claim an index of the next.
    private let state = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let helpers = Atomic<Int>(0)
    private let maxHelpers = Atomic<Int>(0)
    private let running = Atomic<Bool>(false)
    /// Set before a section's word is published and read only after claiming one of its indices
    /// (the section cannot end before that index is done), so every access is ordered by `state`.
    private nonisolated(unsafe) var body: ((Int, Int) -> Void)?

    private let sleepers = NSCondition()
    /// Workers asleep on `sleepers`. Sequentially consistent with `state` on both sides (a worker
    /// counts itself, then reads `state`; a caller writes `state`, then reads this), so either the
    /// caller sees the sleeper and wakes it or the sleeper sees the new section.
    private let sleeping = Atomic<Int>(0)
    private let workers = Atomic<Int>(0)

    /// Rounds a worker watches for the next section before it sleeps (each round is one
    /// `sched_yield`, well under a microsecond on an idle core: a few hundred microseconds in all).
    private static let watchRounds = 2000

    private static func generation(_ word: Int) -> Int { word >> 32 }
    private static func count(_ word: Int) -> Int { (word >> 16) & 0xFFFF }
    private static func index(_ word: Int) -> Int { word & 0xFFFF }

    /// Runs `body(i, slot)` for i in 0..<count on the caller and up to `threads − 1` workers. Indices
    /// are claimed in order by whichever thread is free; `slot` (0 for the caller, 1… for the helpers
    /// of this section, below min(threads, count)) names the thread, so a body can use per-thread
    /// scratch: no two bodies running at once share a slot.
    func run(_ count: Int, threads: Int, _ body: (_ index: Int, _ slot: Int) -> Void) {
        guard threads > 1, count > 1, count < 1 << 16,
              running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0..<count { body(i, 0) }
            return
        }
        defer { running.store(false, ordering: .releasing) }
        let helpersWanted = Swift.min(threads, count) - 1
        startWorkers(helpersWanted)
        withoutActuallyEscaping(body) { body in
            self.body = body
            maxHelpers.store(helpersWanted, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            helpers.store(0, ordering: .relaxed)
            let next = (Self.generation(state.load(ordering: .relaxed)) + 1) & 0x7FFF_FFFF
            state.store(next << 32 | count << 16, ordering: .sequentiallyConsistent)
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                sleepers.lock()
                sleepers.broadcast()
                sleepers.unlock()
            }
            work(generation: next, slot: 0)
            while finished.load(ordering: .acquiring) < count { sched_yield() }
            self.body = nil
        }
    }

    /// Claims and runs indices of section `generation` until none is left.
    private func work(generation: Int, slot: Int) {
        while true {
            let word = state.load(ordering: .acquiring)
            guard Self.generation(word) == generation, Self.index(word) < Self.count(word) else { return }
            guard state.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing).exchanged else { continue }
            body!(Self.index(word), slot)
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    private func startWorkers(_ wanted: Int) {
        // Only the thread holding `running` gets here, so the check and the start do not race.
        while workers.load(ordering: .relaxed) < wanted {
            workers.wrappingAdd(1, ordering: .relaxed)
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "cpae-compute"
            thread.start()
        }
    }

    private func workerLoop() {
        var seen = Self.generation(state.load(ordering: .acquiring))
        while true {
            var rounds = 0
            var current = Self.generation(state.load(ordering: .acquiring))
            while current == seen {
                if rounds < Self.watchRounds {
                    rounds += 1
                    sched_yield()
                } else {
                    sleepers.lock()
                    sleeping.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    while Self.generation(state.load(ordering: .sequentiallyConsistent)) == seen { sleepers.wait() }
                    sleeping.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                    sleepers.unlock()
                }
                current = Self.generation(state.load(ordering: .acquiring))
            }
            seen = current
            // Only as many helpers as the section's budget allows; the rest wait for the next one.
            let helper = helpers.wrappingAdd(1, ordering: .acquiringAndReleasing).oldValue
            guard helper < maxHelpers.load(ordering: .relaxed) else { continue }
            work(generation: current, slot: helper + 1)
        }
    }
}
