/// Misuse of the communicator that is detected locally (bad root, call after finalize, ...).
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An error that every rank throws at the same point of the program, because every rank computed
/// the same outcome from the same collective (a configuration mismatch, a non-finite loss seen by
/// an allreduce, options that are invalid everywhere).
///
/// `runOrAbort` ends the job in an orderly way for these: each rank prints the message, the ranks
/// meet in a barrier (with a deadline), and every process exits with a non-zero code — no
/// MPI_Abort banner, and every rank's line reaches stderr. Any other error is taken to be local to
/// one rank, and the job is MPI_Aborted so that the others, which may be blocked in a collective,
/// do not hang.
public protocol CollectiveError: Error, CustomStringConvertible {}

/// A `CollectiveError` that is just a message, for conditions every rank detects identically.
public struct CollectiveFailure: CollectiveError, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
