import CMPI
import Core
import Foundation

extension Communicator {
    /// Prints "cpae-mpi: rank R: message" to stderr and ends the WHOLE job: MPI_Abort on the world
    /// makes mpirun kill every rank, including ranks blocked in a collective, within seconds.
    /// Use it for errors only this rank knows about.
    public func abort(message: String, code: Int32 = 1) -> Never {
        Communicator.writeToStderr("cpae-mpi: rank \(jobRank): \(message)\n")
        // Alone there is nobody to take down: finalize and exit without Open MPI's abort banner.
        if jobSize == 1 { exit(code) }
        // The world, also from a rank group: the other groups must not go on (or wait) without it.
        TerminationSignal.expected = true   // the SIGTERM the launcher answers with needs no report
        _ = MPI_Abort(cmpi_comm_world(), code)
        _exit(code)  // MPI_Abort does not return; no atexit MPI_Finalize here, it could block
    }

    /// Runs `body`; any error it throws ends the job with the error printed by the rank that threw
    /// it, never a hang:
    /// - a `CollectiveError` (thrown by every rank together): `endTogether` — every rank prints it,
    ///   the ranks meet, and all exit with code 1;
    /// - anything else: `abort` — MPI_Abort kills every rank.
    public func runOrAbort<T>(_ body: () throws -> T) -> T {
        do {
            return try body()
        } catch let error as CollectiveError {
            endTogether(error)
        } catch {
            abort(message: "\(error)")
        }
    }

    /// `runOrAbort` on the current communicator (the world, or the rank group of `within`),
    /// initialising MPI first. If MPI itself cannot start,
    /// prints why and exits with code 1.
    public static func runOrAbort<T>(_ body: (Communicator) throws -> T) -> T {
        let communicator: Communicator
        do {
            communicator = try current()
        } catch {
            writeToStderr("cpae-mpi: cannot initialize MPI: \(error)\n")
            exit(1)
        }
        return communicator.runOrAbort { try body(communicator) }
    }

    /// Ends the job after an error that every rank raised at the same point: this rank prints it,
    /// waits (at most `deadline` seconds) until every rank has got here, finalizes MPI and exits
    /// with `code`. If some rank does not arrive in time — so the error was not collective after
    /// all — it falls back to MPI_Abort rather than hang.
    public func endTogether(_ error: Error, code: Int32 = 1, deadline: Double = 10) -> Never {
        // A group cannot end alone: MPI_Finalize would wait for the other groups' ranks.
        if isGroup { abort(message: "\(error)", code: code) }
        Communicator.writeToStderr("cpae-mpi: rank \(jobRank): \(error)\n")
        do {
            if try !idleBarrier(deadline: deadline) {
                abort(message: "other ranks did not reach the same error within \(Int(deadline)) s; aborting the job", code: code)
            }
        } catch {
            abort(message: "while ending the job together: \(error)", code: code)
        }
        Communicator.finalize()
        exit(code)
    }

    /// The collective this rank is in now, e.g. "collective #12 (MPI_Allreduce of 1304818 × Float)";
    /// nil when it is in none, or when the watchdog (which records them) was not started.
    public var collectiveInProgress: String? { watchdog.inProgress()?.what }

    /// One write(2) per message, so lines from ranks sharing a terminal do not interleave.
    public static func writeToStderr(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { break }
            offset += written
        }
    }
}
