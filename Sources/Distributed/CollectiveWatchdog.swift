import Core
import Foundation

/// Turns a hang in a collective into an error that says where it hung (Horovod's stall check;
/// the NCCL-watchdog lesson: a hang that surfaces after 30 minutes with no context is what users
/// hate most). A collective blocks forever when some rank never joins it — it died without
/// aborting, is stuck elsewhere, or runs a different number of steps.
///
/// Off until `Communicator.startWatchdog(timeout:)`. Then every collective records its sequence
/// number, MPI function, element count and start time (a lock and a few stores, no allocation),
/// and a background thread checks every quarter second. A collective in progress longer than the
/// timeout prints "cpae-mpi: rank R: collective #N (MPI_Allreduce of 1304818 × Float) has not
/// completed after T s …" and ends this process with `_exit(code)` — MPI itself is not touched
/// from the watchdog thread (the thread level is FUNNELED); mpirun sees a rank exit without
/// finalizing and kills the rest of the job.
///
/// The timeout must exceed the longest time one rank may legitimately wait for another: a
/// checkpoint or evaluation that rank 0 alone runs while the others wait at the next collective.
///
/// The same thread reports a SIGTERM: that is how mpirun (and srun, and a batch system ending or
/// preempting the job) stops the surviving ranks when one rank died — by default they vanish
/// without a word. With the watchdog on, each prints "cpae-mpi: rank R: ended by SIGTERM … while in
/// collective #N (MPI_Allreduce of …) for T s" and exits with 143 as the default action would, so
/// the job's output says where every rank was (docs/distributed.md §Failures).
final class CollectiveWatchdog: @unchecked Sendable {
    private let lock = NSLock()
    // Guarded by `lock`:
    private var sequence = 0
    private var running: (name: StaticString, count: Int, type: MPIElementType?)?
    private var startedAt: Double = 0
    // Written once by `start` on the MPI thread before the watch thread exists; read by both.
    private var timeout: Double = 0
    private var rank = 0
    private var exitCode: Int32 = 1
    /// Read on the MPI thread only (which is also the one that sets it).
    private(set) var enabled = false

    /// Starts watching (once; later calls only change nothing).
    func start(timeout: Double, rank: Int, exitCode: Int32) {
        precondition(timeout > 0, "watchdog timeout must be positive")
        guard !enabled else { return }
        self.timeout = timeout
        self.rank = rank
        self.exitCode = exitCode
        enabled = true
        TerminationSignal.install()
        let thread = Thread { [self] in watch() }
        thread.name = "cpae-mpi collective watchdog"
        thread.start()
    }

    @inline(__always)
    func begin(_ name: StaticString, count: Int, type: MPIElementType?) {
        guard enabled else { return }
        lock.lock()
        sequence += 1
        running = (name, count, type)
        startedAt = Stopwatch.now()
        lock.unlock()
    }

    @inline(__always)
    func end() {
        guard enabled else { return }
        lock.lock()
        running = nil
        lock.unlock()
    }

    /// The collective in progress now ("collective #N (MPI_Allreduce of 1304818 × Float)") and
    /// how long it has been running; nil when none is (or the watchdog is off).
    func inProgress() -> (what: String, seconds: Double)? {
        lock.lock()
        defer { lock.unlock() }
        guard let running else { return nil }
        let what = running.type.map { "\(running.name) of \(running.count) × \($0)" } ?? "\(running.name)"
        return ("collective #\(sequence) (\(what))", Stopwatch.now() - startedAt)
    }

    private func watch() {
        while true {
            if TerminationSignal.wait(milliseconds: 250) {
                if !TerminationSignal.expected {
                    let now = inProgress().map { "while in \($0.what) for \(String(format: "%.1f", $0.seconds)) s" } ?? "outside any collective"
                    Communicator.writeToStderr(
                        "cpae-mpi: rank \(rank): ended by SIGTERM (from mpirun/srun or the batch system) \(now); "
                        + "if another rank failed, its message or the launcher's report names it\n")
                }
                _exit(128 + SIGTERM)   // what the default action would have done
            }
            guard let (what, seconds) = inProgress(), seconds > timeout else { continue }
            Communicator.writeToStderr(
                "cpae-mpi: rank \(rank): \(what) has not completed after \(Int(seconds.rounded())) s "
                + "(watchdog timeout \(timeout) s): some rank never joined it — it failed, hangs, or ran a different "
                + "number of steps; look for that rank's message. Ending the job.\n")
            _exit(exitCode)
        }
    }
}

/// SIGTERM turned into a byte on a pipe (the self-pipe trick: write(2) is all a signal handler may
/// safely do), which the watchdog thread waits on between its checks.
enum TerminationSignal {
    nonisolated(unsafe) private static var pipeEnds: [Int32] = [-1, -1]
    private static let installed: Void = {
        guard pipe(&pipeEnds) == 0 else { return }
        for fd in pipeEnds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(pipeEnds[1], F_SETFL, O_NONBLOCK)   // a second signal must never block the handler
        writeEnd = pipeEnds[1]
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in var byte: UInt8 = 1; _ = write(TerminationSignal.writeEnd, &byte, 1) }
        #else
        action.__sigaction_u.__sa_handler = { _ in var byte: UInt8 = 1; _ = write(TerminationSignal.writeEnd, &byte, 1) }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        _ = sigaction(SIGTERM, &action, nil)
    }()
    /// Read by the handler: set once before the handler is installed.
    nonisolated(unsafe) static var writeEnd: Int32 = -1

    static func install() { _ = installed }

    /// Set by a rank that calls MPI_Abort itself: the launcher's SIGTERM that follows is its own
    /// doing, and it has already said why, so it ends without a second line. (Written once before MPI_Abort; a stale read at worst
    /// prints one line too many.)
    nonisolated(unsafe) static var expected = false

    /// Waits up to `milliseconds` for a SIGTERM; true if one came.
    static func wait(milliseconds: Int32) -> Bool {
        guard pipeEnds[0] >= 0 else { usleep(UInt32(milliseconds) * 1000); return false }
        var fd = pollfd(fd: pipeEnds[0], events: Int16(POLLIN), revents: 0)
        guard poll(&fd, 1, milliseconds) > 0 && fd.revents & Int16(POLLIN) != 0 else { return false }
        var byte: UInt8 = 0
        _ = read(pipeEnds[0], &byte, 1)   // consumed, so the next wait waits again
        return true
    }
}
