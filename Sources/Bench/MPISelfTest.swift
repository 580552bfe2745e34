import CMPI
import Core
@_spi(SelfTest) import Distributed
import Foundation

/// Checks every collective across the running ranks against values each rank can compute on its
/// own, and can provoke the failures the job must survive (a rank throwing mid-collective, a
/// configuration mismatch). `cpae-mpi mpi-selftest` runs it under mpirun; the
/// distributed tests launch that.
public struct MPISelfTest {
    public struct Options: Sendable {
        /// This rank throws an ordinary (local) error after `failAfterSeconds`, while the others
        /// wait in an allreduce: the job must end by MPI_Abort, not hang.
        public var failRank: Int?
        public var failAfterSeconds: Double = 1
        /// This rank dies by SIGKILL (as from the OOM killer) after `failAfterSeconds`, while the
        /// others wait in an allreduce: mpirun must notice and end the job.
        public var crashRank: Int?
        /// This rank stops making progress (sleeps for good) while the others wait in an allreduce;
        /// with `stallTimeout` set, their watchdog must end the job naming the stuck collective.
        public var hangRank: Int?
        /// Starts the collective watchdog with this timeout (seconds).
        public var stallTimeout: Double?
        /// This rank hashes a different configuration: every rank must throw `RankDisagreement`.
        public var mismatchRank: Int?
        /// Elements of the large-buffer allreduce check.
        public var largeCount: Int = 4_000_000
        /// Elements of the timed allreduce (default: the full-size CpAE's parameter count).
        public var timingCount: Int = 1_304_818
        public var timingRepeats: Int = 9

        public init() {}
    }

    /// The JSON line rank 0 prints.
    public struct Report: Codable, Sendable {
        public var ok: Bool
        public var ranks: Int
        /// Ranks sharing rank 0's node.
        public var ranksOnNode0: Int
        public var processorNames: [String]
        public var blasThreadsPerRank: Int
        public var blasThreadsReason: String
        /// Names of the checks that passed on every rank.
        public var passed: [String]
        /// "rank R: check: detail" for every check that failed anywhere.
        public var failures: [String]
        public var largeAllreduceFloats: Int
        public var largeAllreduceSeconds: Double
        public var timedAllreduceFloats: Int
        public var timedAllreduceRepeats: Int
        /// Median (over repeats) of the slowest rank's time for one allreduce of timedAllreduceFloats.
        public var timedAllreduceMedianSeconds: Double
        /// The fastest repeat: closest to the machine's capability when other work shares the cores.
        public var timedAllreduceMinSeconds: Double
        /// The same for 256 floats: the latency a synchronized-BatchNorm sum pays per call.
        public var smallAllreduceMedianSeconds: Double
    }

    /// Thrown on every rank when some check failed on some rank.
    public struct Failed: CollectiveError, Sendable {
        public let failures: [String]
        public init(failures: [String]) { self.failures = failures }
        public var description: String { "mpi-selftest failed: " + failures.joined(separator: "; ") }
    }

    public let communicator: Communicator
    public let options: Options
    private var passed: [String] = []
    private var localFailures: [String] = []

    public init(communicator: Communicator, options: Options) {
        self.communicator = communicator
        self.options = options
    }

    /// Runs everything; returns the report on every rank (rank 0 prints it). Throws `Failed` on
    /// every rank if a check failed anywhere, and the provoked errors when asked to.
    public mutating func run() throws -> Report {
        let comm = communicator
        try validateOptions()
        if let stallTimeout = options.stallTimeout { comm.startWatchdog(timeout: stallTimeout) }

        // 1. Configuration agreement (the first thing a trainer does after parsing flags).
        var configuration = "{\"preset\":\"selftest\",\"ranks\":\(comm.size),\"seed\":1}"
        if comm.rank == options.mismatchRank { configuration += " (this rank got a different --seed)" }
        try comm.agree(on: SHA256.prefix64(configuration), what: "configuration")

        // 2. A rank that fails on its own while the others wait in a collective.
        if let failRank = options.failRank {
            if comm.rank == failRank {
                Thread.sleep(forTimeInterval: options.failAfterSeconds)
                throw DistributedError("provoked failure (--fail-rank \(failRank)) after \(options.failAfterSeconds) s")
            }
            var x = [Float(1)]
            try comm.allreduce(&x, .sum)  // blocks: rank failRank never joins
            throw DistributedError("the allreduce completed although rank \(failRank) never joined it")
        }
        if let hangRank = options.hangRank {
            if comm.rank == hangRank {
                while true { Thread.sleep(forTimeInterval: 3600) }  // a rank stuck outside MPI
            }
            var x = [Float(1)]
            try comm.allreduce(&x, .sum)  // blocks until the watchdog (or mpirun) ends the job
            throw DistributedError("the allreduce completed although rank \(hangRank) never joined it")
        }
        if let crashRank = options.crashRank {
            if comm.rank == crashRank {
                Thread.sleep(forTimeInterval: options.failAfterSeconds)
                Communicator.writeToStderr("cpae-mpi: rank \(crashRank): provoked crash (--crash-rank): SIGKILL to self\n")
                kill(getpid(), SIGKILL)
            }
            var x = [Float(1)]
            try comm.allreduce(&x, .sum)  // blocks: rank crashRank is gone
            throw DistributedError("the allreduce completed although rank \(crashRank) was killed")
        }

        try checkFloatingAllreduce(Float.self, name: "Float")
        try checkFloatingAllreduce(Double.self, name: "Double")
        try checkIntegerAllreduce()
        let largeSeconds = try checkLargeAllreduce()
        try checkReducer()
        try checkBroadcast()
        try checkAllgather()
        try checkAgreement()
        checkErrorsReturn()

        let times = try comm.allreduceTimes(count: options.timingCount, repeats: options.timingRepeats)
        let timed = median(times)
        let small = try comm.allreduceTiming(count: 256, repeats: 21)

        // Collect failures from every rank so rank 0's report (and every rank's error) is complete.
        let gathered = try comm.allgather(localFailures.joined(separator: "\n"))
        let failures = gathered.enumerated().flatMap { rank, text in
            text.isEmpty ? [] : text.split(separator: "\n").map { "rank \(rank): \($0)" }
        }
        let names = try comm.allgather(comm.processorName)
        let failedChecks = Set(gathered.flatMap { $0.split(separator: "\n").map { String($0.prefix { $0 != ":" }) } })
        let report = Report(ok: failures.isEmpty, ranks: comm.size, ranksOnNode0: comm.localSize,
                            processorNames: names, blasThreadsPerRank: comm.blasThreads,
                            blasThreadsReason: comm.blasThreadsReason,
                            passed: passed.filter { !failedChecks.contains($0) }, failures: failures,
                            largeAllreduceFloats: options.largeCount, largeAllreduceSeconds: largeSeconds,
                            timedAllreduceFloats: options.timingCount, timedAllreduceRepeats: options.timingRepeats,
                            timedAllreduceMedianSeconds: timed, timedAllreduceMinSeconds: times[0],
                            smallAllreduceMedianSeconds: small)
        return report
    }

    // MARK: - Checks

    private mutating func expect(_ condition: Bool, _ check: String, _ detail: @autoclosure () -> String) {
        if condition {
            if !passed.contains(check) { passed.append(check) }
        } else {
            localFailures.append("\(check): \(detail())")
        }
    }

    private func validateOptions() throws {
        let size = communicator.size
        for (flag, value) in [("--fail-rank", options.failRank), ("--crash-rank", options.crashRank), ("--hang-rank", options.hangRank),
                              ("--mismatch-rank", options.mismatchRank)] {
            if let value, !(0..<size).contains(value) {
                throw CollectiveFailure("\(flag) \(value) is out of range: the job has \(size) rank(s), 0..<\(size)")
            }
        }
        if options.hangRank != nil && (options.stallTimeout == nil || size < 2) {
            throw CollectiveFailure("--hang-rank needs --stall-timeout and at least 2 ranks (otherwise it would hang for good)")
        }
        if let stallTimeout = options.stallTimeout, !(stallTimeout > 0) {
            throw CollectiveFailure("--stall-timeout must be a positive number of seconds, got \(stallTimeout)")
        }
        if options.largeCount < 1 || options.timingCount < 1 || options.timingRepeats < 1 {
            throw CollectiveFailure("--large-count, --timing-count, and --timing-repeats must be at least 1")
        }
    }

    /// Values are small integers, so sums are exact in any order.
    private mutating func checkFloatingAllreduce<T: MPIFloatingScalar>(_ type: T.Type, name: String) throws {
        let comm = communicator
        let n = 1000, size = comm.size, rank = comm.rank
        let triangle = T(size * (size + 1) / 2)
        func pattern(_ i: Int) -> T { T(i % 7 + 1) }

        var sum = (0..<n).map { pattern($0) * T(rank + 1) }
        try comm.allreduce(&sum, .sum)
        let badSum = (0..<n).first { sum[$0] != pattern($0) * triangle }
        expect(badSum == nil, "allreduce \(name) sum", "element \(badSum ?? 0) is \(sum[badSum ?? 0])")


        // Odd elements: +rank (max size-1, min 0); even elements: -rank (max 0, min -(size-1)).
        let signed = (0..<n).map { T(rank) * ($0 % 2 == 1 ? 1 : -1) }
        var maximum = signed, minimum = signed
        try comm.allreduce(&maximum, .max)
        try comm.allreduce(&minimum, .min)
        let top = T(size - 1)
        let badMax = (0..<n).first { maximum[$0] != ($0 % 2 == 1 ? top : 0) }
        let badMin = (0..<n).first { minimum[$0] != ($0 % 2 == 1 ? 0 : -top) }
        expect(badMax == nil, "allreduce \(name) max", "element \(badMax ?? 0) is \(maximum[badMax ?? 0])")
        expect(badMin == nil, "allreduce \(name) min", "element \(badMin ?? 0) is \(minimum[badMin ?? 0])")

        let scalar = try comm.allreduce(T(rank + 1), .sum)
        expect(scalar == triangle, "allreduce \(name) scalar", "sum of rank+1 is \(scalar), expected \(triangle)")
    }

    private mutating func checkIntegerAllreduce() throws {
        let comm = communicator
        let size = comm.size, rank = comm.rank
        let sum = try comm.allreduce(rank + 1, .sum)
        let maximum = try comm.allreduce(rank, .max)
        let minimum = try comm.allreduce(rank + 10, .min)
        expect(sum == size * (size + 1) / 2, "allreduce Int sum", "\(sum)")
        expect(maximum == size - 1, "allreduce Int max", "\(maximum)")
        expect(minimum == 10, "allreduce Int min", "\(minimum)")
        // Values above Int64.max and beyond 32 bits: a wrong datatype would truncate or flip sign.
        let high = (UInt64(1) << 63) + UInt64(rank)
        let highMax = try comm.allreduce(high, .max)
        expect(highMax == (UInt64(1) << 63) + UInt64(size - 1), "allreduce UInt64 max", "\(highMax)")
        var wide: [UInt64] = [UInt64(rank + 1) << 40, UInt64(rank)]
        try comm.allreduce(&wide, .sum)
        expect(wide == [UInt64(size * (size + 1) / 2) << 40, UInt64(size * (size - 1) / 2)], "allreduce UInt64 sum", "\(wide)")
    }

    /// A buffer the size of a large gradient, checked element by element; returns its time.
    private mutating func checkLargeAllreduce() throws -> Double {
        let comm = communicator
        let n = options.largeCount, size = comm.size, rank = comm.rank
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { buffer.deallocate() }
        for i in 0..<n { buffer[i] = Float(rank + 1) + Float(i & 1023) }
        try comm.barrier()
        let seconds = try Stopwatch.time { try comm.allreduce(buffer, count: n, .sum) }
        let triangle = Float(size * (size + 1) / 2)
        var bad: Int?
        for i in 0..<n where buffer[i] != triangle + Float(size) * Float(i & 1023) { bad = i; break }
        expect(bad == nil, "allreduce \(n) floats", "element \(bad ?? 0) is \(bad.map { buffer[$0] } ?? 0)")
        return try comm.allreduce(seconds, .max)
    }

    /// Through Core's `ReplicaGroup` protocol, as synchronized BatchNorm and the trainer use it.
    private mutating func checkReducer() throws {
        let comm = communicator
        let reducer: ReplicaGroup = comm
        var doubles: [Double] = [Double(comm.rank), 0.5]
        var floats: [Float] = [1, Float(comm.rank) * 2]
        doubles.withUnsafeMutableBufferPointer { reducer.sum($0.baseAddress!, count: 2) }
        floats.withUnsafeMutableBufferPointer { reducer.sum($0.baseAddress!, count: 2) }
        let s = comm.size
        expect(reducer.replicas == s, "ReplicaGroup replicas", "\(reducer.replicas)")
        expect(doubles == [Double(s * (s - 1) / 2), 0.5 * Double(s)], "ReplicaGroup sum Double", "\(doubles)")
        expect(floats == [Float(s), Float(s * (s - 1))], "ReplicaGroup sum Float", "\(floats)")
        // A typed value arrives as its bytes: integers beyond Float's 2^24 and Double's 2^53 exactly.
        let sent = SIMD4<Int64>(Int64(1) << 60 | 12345, -3, (Int64(1) << 53) + 1, Int64(comm.rank))
        let got = reducer.broadcast(value: comm.isRoot ? sent : SIMD4(repeating: -1), root: 0)
        expect(got == SIMD4(sent.x, sent.y, sent.z, 0), "ReplicaGroup broadcast value", "\(got)")
    }

    private mutating func checkBroadcast() throws {
        let comm = communicator
        let last = comm.size - 1
        var floats = comm.rank == last ? (0..<1000).map { Float($0) * 0.25 + 0.125 } : [Float](repeating: -1, count: 1000)
        try comm.broadcast(&floats, root: last)
        expect(floats == (0..<1000).map { Float($0) * 0.25 + 0.125 }, "broadcast Float", "from rank \(last)")

        var doubles = comm.rank == 0 ? [Double.pi, -Double.ulpOfOne, 1e300] : []
        try comm.broadcast(&doubles, root: 0)
        expect(doubles == [Double.pi, -Double.ulpOfOne, 1e300], "broadcast Double", "\(doubles)")

        let pattern = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var bytes = comm.rank == 0 ? pattern : [UInt8](repeating: 0, count: pattern.count)
        try bytes.withUnsafeMutableBufferPointer { try comm.broadcast($0.baseAddress!, count: $0.count, root: 0) }
        expect(bytes == pattern, "broadcast UInt8", "\(bytes.count) bytes differ")

        let data = try comm.broadcast(comm.rank == 0 ? Data(pattern.reversed()) : Data(), root: 0)
        expect(data == Data(pattern.reversed()), "broadcast Data", "\(data.count) bytes")

        let text = "configuration from rank \(last): λ=0.1, Δt=1/60 ✓"
        let received = try comm.broadcast(comm.rank == last ? text : "not this", root: last)
        expect(received == text, "broadcast String", received)
    }

    private mutating func checkAllgather() throws {
        let comm = communicator
        let strings = try comm.allgather("rank \(comm.rank) " + String(repeating: "x", count: comm.rank * 3))
        let expected = (0..<comm.size).map { "rank \($0) " + String(repeating: "x", count: $0 * 3) }
        expect(strings == expected, "allgather String", "\(strings)")
        let ranks = try comm.allgather(Int32(comm.rank))
        expect(ranks == (0..<comm.size).map { Int32($0) }, "allgather Int32", "\(ranks)")
    }

    /// MPI_ERRORS_RETURN is installed and codes become `MPIError` with MPI's text: a broadcast
    /// from a root that does not exist fails the parameter check on every rank (no communication).
    private mutating func checkErrorsReturn() {
        let comm = communicator
        var value: Int32 = 0
        do {
            try mpiCheck(MPI_Bcast(&value, 1, cmpi_int32(), Int32(comm.size), comm.worldHandle), "MPI_Bcast(invalid root)")
            localFailures.append("MPI errors return: MPI_Bcast from root \(comm.size) succeeded")
        } catch let error as MPIError {
            expect(error.code != MPI_SUCCESS && error.message.localizedCaseInsensitiveContains("root")
                   && "\(error)".hasPrefix("MPI_Bcast(invalid root) failed: "),
                   "MPI errors return", "\(error)")
        } catch {
            localFailures.append("MPI errors return: unexpected \(error)")
        }
    }

    private mutating func checkAgreement() throws {
        let comm = communicator
        do {
            try comm.agree(on: SHA256.prefix64("same everywhere"), what: "test value")
            passed.append("agree")
        } catch {
            localFailures.append("agree: equal hashes reported as \(error)")
        }
    }
}
