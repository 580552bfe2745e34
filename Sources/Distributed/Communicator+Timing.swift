import Foundation

extension Communicator {
    /// Median wall time in seconds of one in-place Float SUM allreduce of `count` elements, where
    /// each repeat's time is the slowest rank's (a step waits for the slowest). Each repeat starts
    /// from a barrier so ranks enter together; `warmup` untimed calls set up MPI's buffers first.
    /// Collective; every rank gets the same result. For `bench scaling` and the self-test.
    public func allreduceTiming(count: Int, repeats: Int, warmup: Int = 2) throws -> Double {
        precondition(count > 0 && repeats > 0, "allreduceTiming needs count > 0 and repeats > 0")
        // Zeros: sums stay finite however many repeats run, and the float adds cost the same.
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
        buffer.initialize(repeating: 0, count: count)
        defer { buffer.deallocate() }
        for _ in 0..<warmup { try allreduce(buffer, count: count, .sum) }
        var times = [Double](repeating: 0, count: repeats)
        for r in 0..<repeats {
            try barrier()
            let start = DispatchTime.now().uptimeNanoseconds
            try allreduce(buffer, count: count, .sum)
            times[r] = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
        }
        try allreduce(&times, .max)
        times.sort()
        return repeats % 2 == 1 ? times[repeats / 2] : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2])
    }
}
