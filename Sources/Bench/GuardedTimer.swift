import Core
import Foundation

/// CPU time used by the whole machine and by this process, for telling whether someone else was
/// running while we timed something (docs/machines.md §Timing: unguarded timings on the shared machine were
/// off by 2–5×).
public struct CPUSnapshot: Sendable {
    /// Monotonic wall clock, seconds.
    public let wall: Double
    /// Busy CPU-seconds of all cores since boot (/proc/stat), nil where /proc/stat is unavailable.
    public let machineBusy: Double?
    /// CPU-seconds used by this process, all threads (getrusage), including OpenBLAS's threads.
    public let own: Double

    public static func now() -> CPUSnapshot {
        var ru = rusage()
        getrusage(RUSAGE_SELF_ID, &ru)
        let own = Double(ru.ru_utime.tv_sec) + Double(ru.ru_utime.tv_usec) * 1e-6
            + Double(ru.ru_stime.tv_sec) + Double(ru.ru_stime.tv_usec) * 1e-6
        return CPUSnapshot(wall: Stopwatch.now(), machineBusy: machineBusySeconds(), own: own)
    }

    /// Cores' worth of CPU that *other* processes used between `self` and `later` (nil if unknown).
    public func otherCores(until later: CPUSnapshot) -> Double? {
        guard let b0 = machineBusy, let b1 = later.machineBusy, later.wall > wall else { return nil }
        return Swift.max(0, ((b1 - b0) - (later.own - own)) / (later.wall - wall))
    }

    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// user + nice + system + irq + softirq + steal of the aggregate "cpu" line; idle and iowait
    /// are not busy, guest time is already inside user.
    private static func machineBusySeconds() -> Double? {
        guard let f = fopen("/proc/stat", "r") else { return nil }
        defer { fclose(f) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), f) != nil else { return nil }
        let line = String(cString: buffer)
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard line.hasPrefix("cpu "), fields.count >= 8 else { return nil }
        let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
        return Double(busy) / ticksPerSecond
    }
}

/// Times a block on a shared machine: waits until other processes use less than `quietCores`,
/// times the block (repeated enough to last `minSampleSeconds`, so /proc/stat's 10 ms ticks
/// resolve the interference), repeats a sample when others used more than `quietCores` during
/// it (bounded), and reports medians.
///
///     let timer = GuardedTimer()
///     let m = timer.measure { layer.forward(x) }
///     print(m.median, m.cleanSamples, m.samples.count)
public struct GuardedTimer: Sendable {
    /// Other processes' CPU use (in cores) below which the machine counts as quiet.
    public var quietCores: Double = 0.1
    /// Longest wait for quiet before one sample (seconds); then the sample is taken anyway.
    /// 0 disables waiting (disturbed samples are still detected, retried and flagged).
    public var maxQuietWait: Double = 10
    /// Timed samples per measurement (the median is reported).
    public var samples: Int = 5
    /// Extra attempts per sample when it was disturbed.
    public var maxRetries: Int = 3
    /// Each sample repeats the block until it lasts at least this long.
    public var minSampleSeconds: Double = 0.25
    /// Untimed runs first (page faults, scratch growth, OpenBLAS thread start).
    public var warmups: Int = 1

    public init() {}

    /// One timed sample: seconds per call of the block and other processes' cores during it.
    public struct Sample: Sendable, Codable {
        public let seconds: Double
        public let otherCores: Double?
        public let clean: Bool
        public let attempts: Int
    }

    public struct Measurement: Sendable, Codable {
        public let samples: [Sample]
        /// Calls of the block per sample.
        public let iterations: Int
        /// Seconds spent waiting for the machine to become quiet.
        public let waitedSeconds: Double
        /// Median seconds per call over all samples.
        public var median: Double { Core.median(samples.map(\.seconds)) }
        /// Median over clean samples only, or over all if none was clean.
        public var medianClean: Double {
            let clean = samples.filter(\.clean).map(\.seconds)
            return clean.isEmpty ? median : Core.median(clean)
        }
        public var best: Double { samples.map(\.seconds).min() ?? .nan }
        public var cleanSamples: Int { samples.filter(\.clean).count }
        /// False when the machine never got quiet for some sample (its timing may be inflated).
        public var allClean: Bool { cleanSamples == samples.count }

        /// Sample by sample (`measureAlternating`'s rounds), this measurement's seconds over `other`'s.
        public func ratios(over other: Measurement) -> [Double] {
            zip(samples, other.samples).map { $0.seconds / $1.seconds }
        }
    }

    /// The rounds of `measureAlternating` in which every configuration's sample was clean.
    public static func cleanRounds(_ measurements: [Measurement]) -> Int {
        let rounds = measurements.map(\.samples.count).min() ?? 0
        return (0..<rounds).filter { k in measurements.allSatisfy { $0.samples[k].clean } }.count
    }

    /// Blocks until others use < `quietCores` over a 0.2 s window, or `maxQuietWait` passed.
    /// Returns whether the machine was quiet.
    @discardableResult
    public func waitForQuiet() -> Bool {
        guard maxQuietWait > 0 else { return false }
        let start = CPUSnapshot.now()
        while true {
            let a = CPUSnapshot.now()
            usleep(200_000)
            let b = CPUSnapshot.now()
            guard let others = a.otherCores(until: b) else { return true }   // cannot tell: do not wait
            if others < quietCores { return true }
            if b.wall - start.wall >= maxQuietWait { return false }
        }
    }

    public func measure(_ block: () -> Void) -> Measurement {
        for _ in 0..<warmups { block() }
        // Calibrate the repetitions from one run.
        let c0 = CPUSnapshot.now()
        block()
        let once = Swift.max(CPUSnapshot.now().wall - c0.wall, 1e-7)
        let iterations = Swift.max(1, Int((minSampleSeconds / once).rounded(.up)))
        var result: [Sample] = []
        var waited = 0.0
        for _ in 0..<samples { result.append(sample(iterations: iterations, waited: &waited, block)) }
        return Measurement(samples: result, iterations: iterations, waitedSeconds: waited)
    }

    /// `count` configurations timed in turn, one call of each per round (`samples` rounds, after
    /// `warmups` untimed calls of each): measurement i holds configuration i's samples, and sample k
    /// of every configuration was taken in the same round, seconds apart. A ratio of two
    /// configurations taken sample by sample then compares timings under almost the same load from
    /// the host's other guests, which drifts over minutes — what separate measurements cannot.
    /// For blocks that each last long enough to time on their own (no repetition).
    public func measureAlternating(_ count: Int, _ block: (_ configuration: Int) -> Void) -> [Measurement] {
        for i in 0..<count { for _ in 0..<warmups { block(i) } }
        var result = [[Sample]](repeating: [], count: count)
        var waited = [Double](repeating: 0, count: count)
        for _ in 0..<samples {
            for i in 0..<count { result[i].append(sample(iterations: 1, waited: &waited[i]) { block(i) }) }
        }
        return (0..<count).map { Measurement(samples: result[$0], iterations: 1, waitedSeconds: waited[$0]) }
    }

    /// One guarded sample of one call of `block` (no warm-up): how a caller that interleaves its own
    /// timings with another process's (`bench train --peer`, step by step) takes each one.
    public func measureOne(_ block: () -> Void) -> Sample {
        var waited = 0.0
        return sample(iterations: 1, waited: &waited, block)
    }

    /// One guarded sample of `iterations` calls: waits for quiet, and retries a disturbed one (keeping
    /// the least disturbed attempt).
    private func sample(iterations: Int, waited: inout Double, _ block: () -> Void) -> Sample {
        var best: Sample?
        for attempt in 1...(maxRetries + 1) {
            let w0 = CPUSnapshot.now().wall
            waitForQuiet()
            waited += CPUSnapshot.now().wall - w0
            let a = CPUSnapshot.now()
            for _ in 0..<iterations { block() }
            let b = CPUSnapshot.now()
            let others = a.otherCores(until: b)
            let clean = (others ?? 0) <= quietCores
            let s = Sample(seconds: (b.wall - a.wall) / Double(iterations), otherCores: others,
                           clean: clean, attempts: attempt)
            if best == nil || (others ?? 0) < (best!.otherCores ?? 0) { best = s }
            if clean { break }
        }
        return best!
    }
}

#if os(Linux)
private let RUSAGE_SELF_ID = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
private let RUSAGE_SELF_ID = RUSAGE_SELF
#endif
