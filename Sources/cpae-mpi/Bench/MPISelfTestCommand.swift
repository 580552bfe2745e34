import Bench
import ArgumentParser
import Distributed
import Foundation

/// Hidden command the distributed tests launch under mpirun: checks every collective across the
/// ranks and prints one JSON line from rank 0; with the --*-rank options it provokes the failures
/// the job must survive. Exit code 0 only when every check passed on every rank.
struct MPISelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-selftest",
        abstract: "Check the MPI collectives across ranks and print one JSON line (run under mpirun).",
        shouldDisplay: false)

    @Option(help: "Rank that throws an error while the others wait in an allreduce (the job must abort).")
    var failRank: Int?
    @Option(help: "Rank that kills itself with SIGKILL while the others wait in an allreduce (mpirun must end the job).")
    var crashRank: Int?
    @Option(help: "Seconds --fail-rank / --crash-rank wait before failing.")
    var failAfterSeconds: Double = 1
    @Option(help: "Rank that stops making progress while the others wait in an allreduce.")
    var hangRank: Int?
    @Option(help: "Start the collective watchdog: end the job when a collective takes longer than this (seconds).")
    var stallTimeout: Double?
    @Option(help: "Rank that contributes a different configuration hash (every rank must stop).")
    var mismatchRank: Int?
    @Option(help: "Floats in the large allreduce check.")
    var largeCount: Int = 4_000_000
    @Option(help: "Floats in the timed allreduce (default: the full-size CpAE's parameter count).")
    var timingCount: Int = 1_304_818
    @Option(help: "Repeats of the timed allreduce (the median is reported).")
    var timingRepeats: Int = 9

    func run() throws {
        var options = MPISelfTest.Options()
        options.failRank = failRank
        options.failAfterSeconds = failAfterSeconds
        options.crashRank = crashRank
        options.hangRank = hangRank
        options.stallTimeout = stallTimeout
        options.mismatchRank = mismatchRank
        options.largeCount = largeCount
        options.timingCount = timingCount
        options.timingRepeats = timingRepeats
        Communicator.runOrAbort { communicator in
            var selfTest = MPISelfTest(communicator: communicator, options: options)
            let report = try selfTest.run()
            if communicator.isRoot {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            }
            if !report.ok { throw MPISelfTest.Failed(failures: report.failures) }
        }
    }
}
