import ArgumentParser
import Core
import Distributed
import Foundation

/// Every `--debug-*` option in one place: hidden from `--help`, never needed by users. The fault
/// injections let the distributed tests make one rank fail, produce NaN, or die by SIGKILL inside the
/// gradient allreduce at a chosen step (the job must end with that rank's message, or mpirun's
/// report of the killed rank, within seconds, never hang), or make the disk "full" from that step
/// on; the batch recorder lets tools/compare_training.py
/// replay this run's exact batches in PyTorch.
struct DebugHooks: ParsableArguments {
    @Option(name: .customLong("debug-fail-rank"), help: .hidden) var failRank: Int?
    @Option(name: .customLong("debug-nan-rank"), help: .hidden) var nanRank: Int?
    @Option(name: .customLong("debug-kill-rank"), help: .hidden) var killRank: Int?
    @Option(name: .customLong("debug-file-size-limit"), help: .hidden) var fileSizeLimit: Int?
    @Option(name: .customLong("debug-at-step"), help: .hidden) var atStep = 1
    @Option(name: .customLong("debug-record-batches"), help: .hidden) var recordBatches: String?

    func validate() throws {
        if let failRank, let nanRank, failRank == nanRank {
            throw ValidationError("--debug-fail-rank and --debug-nan-rank must name different ranks")
        }
        if killRank != nil && (failRank != nil || nanRank != nil) {
            throw ValidationError("--debug-kill-rank cannot be combined with --debug-fail-rank or --debug-nan-rank")
        }
        guard atStep >= 1 else { throw ValidationError("--debug-at-step must be ≥ 1") }
    }

    /// `source`, or a recorder around it when --debug-record-batches is given (one file per rank).
    func batchSource(_ source: BatchSource, rank: Int, ranks: Int) throws -> BatchSource {
        guard let path = recordBatches else { return source }
        return try BatchRecorder(wrapping: source, path: ranks > 1 ? "\(path).rank\(rank)" : path)
    }

    /// The fault injections (nil if none) to run after each step's backward pass, for either phase's
    /// run (`TrainingRun.afterBackward`, `ODETrainingRun.afterBackward`).
    func faults(rank: Int, store: ParameterStore) -> ((_ step: Int) throws -> Void)? {
        guard failRank != nil || nanRank != nil || killRank != nil || fileSizeLimit != nil else { return nil }
        return { [failRank, nanRank, killRank, fileSizeLimit, atStep] step in
            guard step == atStep else { return }
            if let fileSizeLimit { try Self.limitFileSize(to: fileSizeLimit) }
            if failRank == rank {
                throw DistributedError("injected failure on rank \(rank) at step \(step) (--debug-fail-rank)")
            }
            if nanRank == rank { store.gradients[0] = .nan }
            if let killRank {
                let comm = try Communicator.current()
                if rank == killRank {
                    Self.killInsideNextAllreduce(comm, step: step)
                } else if rank == (0..<comm.size).last(where: { $0 != killRank }) {
                    // The last other rank joins late, so the collective is still open when the kill
                    // comes: the killed rank dies inside MPI_Allreduce with its peers in it too.
                    usleep(1_500_000)
                }
            }
        }
    }

    /// Lowers this process's file-size limit (RLIMIT_FSIZE, what `ulimit -f` sets) to `bytes`:
    /// every later write past it fails with EFBIG where a full disk gives ENOSPC, through the same
    /// path of the atomic writer (which ignores SIGXFSZ). Set after MPI has started: its shared-memory
    /// files are larger than the limits the tests use, and a shell's `ulimit -f` around mpirun would
    /// break MPI itself rather than the write under test.
    static func limitFileSize(to bytes: Int) throws {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
        #else
        let resource = RLIMIT_FSIZE
        #endif
        guard bytes >= 0, getrlimit(resource, &limit) == 0 else { throw DistributedError("--debug-file-size-limit \(bytes): cannot read RLIMIT_FSIZE") }
        limit.rlim_cur = rlim_t(bytes)
        guard setrlimit(resource, &limit) == 0 else {
            throw DistributedError("--debug-file-size-limit \(bytes): setrlimit failed: \(String(cString: strerror(errno)))")
        }
    }

    /// A thread that waits until this rank is inside the step's gradient allreduce (as the watchdog
    /// records it), lets it run 0.2 s more, and SIGKILLs the process — as the OOM killer or a
    /// failing node would, with no chance to say anything. It prints the wall-clock time first so a
    /// test can measure how long the job takes to end after the kill.
    private static func killInsideNextAllreduce(_ comm: Communicator, step: Int) {
        let rank = comm.jobRank
        let thread = Thread {
            let waiting = Stopwatch()
            var inside: String?
            // Without the watchdog nothing is recorded: kill after 0.5 s anyway, when the rank is
            // blocked in the allreduce waiting for the late rank (1.5 s).
            while waiting.seconds < 0.5 {
                if let now = comm.collectiveInProgress, now.contains("MPI_Allreduce") { inside = now; break }
                usleep(1000)
            }
            usleep(200_000)
            let clock = String(format: "%.3f", Date().timeIntervalSince1970)
            Communicator.writeToStderr("cpae-mpi: rank \(rank): --debug-kill-rank: SIGKILL to self at step \(step) "
                + "\(inside.map { "inside \($0)" } ?? "(no collective seen in progress)") at unix time \(clock)\n")
            kill(getpid(), SIGKILL)
        }
        thread.name = "cpae-mpi debug kill"
        thread.start()
    }
}
