import Core
import Distributed
import Foundation

extension Communicator {
    /// Median wall time in seconds of one in-place Float SUM allreduce of `count` elements, where
    /// each repeat's time is the slowest rank's (a step waits for the slowest). Collective; every
    /// rank gets the same result. For `bench scaling` and the self-test.
    public func allreduceTiming(count: Int, repeats: Int, warmup: Int = 2) throws -> Double {
        median(try allreduceTimes(count: count, repeats: repeats, warmup: warmup))
    }

    /// Every repeat's time (slowest rank), sorted ascending, so callers can report the minimum
    /// or quantiles as well — on a shared machine the spread is large (docs/machines.md §Timing: timings
    /// off by 2–5× under load). Each repeat starts from a barrier so ranks enter together;
    /// `warmup` untimed calls let MPI set up its buffers first. The buffer is reused, so it is
    /// cache-warm, like a gradient buffer that backward has just written.
    public func allreduceTimes(count: Int, repeats: Int, warmup: Int = 2) throws -> [Double] {
        precondition(count > 0 && repeats > 0, "allreduce timing needs count > 0 and repeats > 0")
        // Zeros: sums stay finite however many repeats run, and the float adds cost the same.
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        buffer.initialize(repeating: 0, count: count)
        defer { buffer.deallocate() }
        for _ in 0..<warmup { try allreduce(buffer, count: count, .sum) }
        var times = [Double](repeating: 0, count: repeats)
        for r in 0..<repeats {
            try barrier()
            times[r] = try Stopwatch.time { try allreduce(buffer, count: count, .sum) }
        }
        try allreduce(&times, .max)
        return times.sorted()
    }
}
