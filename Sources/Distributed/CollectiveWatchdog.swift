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

    private func watch() {
        while true {
            usleep(250_000)
            lock.lock()
            let stalled = running
            let number = sequence
            let seconds = Stopwatch.now() - startedAt
            lock.unlock()
            guard let stalled, seconds > timeout else { continue }
            let what = stalled.type.map { "\(stalled.name) of \(stalled.count) × \($0)" } ?? "\(stalled.name)"
            Communicator.writeToStderr(
                "cpae-mpi: rank \(rank): collective #\(number) (\(what)) has not completed after \(Int(seconds.rounded())) s "
                + "(watchdog timeout \(timeout) s): some rank never joined it — it failed, hangs, or ran a different "
                + "number of steps; look for that rank's message. Ending the job.\n")
            _exit(exitCode)
        }
    }
}
