import Foundation

/// The one clock for elapsed times (step times, progress lines, timeouts, benchmarks): monotonic, so
/// a wall-clock adjustment during a run never shows up as a negative or huge duration.
public struct Stopwatch: Sendable {
    public let started: Double

    public init() { started = Stopwatch.now() }

    /// Seconds since some fixed point in the past (CLOCK_MONOTONIC); only differences mean anything.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Seconds since this stopwatch was made.
    public var seconds: Double { Stopwatch.now() - started }

    /// Seconds one call of `body` took.
    public static func time(_ body: () throws -> Void) rethrows -> Double {
        let watch = Stopwatch()
        try body()
        return watch.seconds
    }
}
