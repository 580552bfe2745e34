import CMPI
import Core
import Foundation

/// Rank groups: a job's ranks split into independent sub-jobs (`cpae-mpi sweep` runs one
/// configuration per group). A group is a `Communicator` like the world — its collectives span its
/// own ranks — and while `within` runs, `Communicator.runOrAbort` hands it to the commands that
/// run inside, so each stage command works on its group unchanged. Errors still end the whole job:
/// `abort` and `endTogether` of a group call MPI_Abort on the world, since a group that finalised
/// alone would leave the others waiting for it at the end.
extension Communicator {
    private static let scopeLock = NSLock()
    nonisolated(unsafe) private static var scopes: [Communicator] = []

    /// The communicator the running command works on: the innermost `within` group, else the world.
    public static func current() throws -> Communicator {
        scopeLock.lock()
        let innermost = scopes.last
        scopeLock.unlock()
        return try innermost ?? world()
    }

    /// Runs `body` with `group` as the current communicator.
    public static func within<T>(_ group: Communicator, _ body: () throws -> T) rethrows -> T {
        scopeLock.lock(); scopes.append(group); scopeLock.unlock()
        defer { scopeLock.lock(); scopes.removeLast(); scopeLock.unlock() }
        return try body()
    }

    /// Splits this communicator's ranks into `groups` groups of consecutive ranks (so a group of
    /// several ranks stays on as few nodes as the launcher's placement allows), sizes differing by
    /// at most one. Collective. Returns this rank's group and its index 0..<groups.
    public func split(groups: Int) throws -> (group: Communicator, index: Int) {
        guard (1...size).contains(groups) else {
            throw DistributedError("cannot split \(size) rank(s) into \(groups) group(s): give 1…\(size) groups")
        }
        let index = rank * groups / size
        var newComm: MPI_Comm? = nil
        try mpiCheck(MPI_Comm_split(handle.raw, Int32(index), Int32(rank), &newComm), "MPI_Comm_split")
        guard let comm = newComm, comm != cmpi_comm_null() else { throw DistributedError("MPI_Comm_split returned no communicator") }
        try mpiCheck(MPI_Comm_set_errhandler(comm, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var localComm: MPI_Comm? = nil
        try mpiCheck(MPI_Comm_split_type(comm, cmpi_comm_type_shared(), Int32(rank), cmpi_info_null(), &localComm),
                     "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)")
        guard let local = localComm, local != cmpi_comm_null() else { throw DistributedError("MPI_Comm_split_type returned no communicator") }
        var groupRank: Int32 = 0, groupSize: Int32 = 0, localRank: Int32 = 0, localSize: Int32 = 0
        try mpiCheck(MPI_Comm_rank(comm, &groupRank), "MPI_Comm_rank")
        try mpiCheck(MPI_Comm_size(comm, &groupSize), "MPI_Comm_size")
        try mpiCheck(MPI_Comm_rank(local, &localRank), "MPI_Comm_rank(local)")
        try mpiCheck(MPI_Comm_size(local, &localSize), "MPI_Comm_size(local)")
        // The thread budget stays the world's: it follows from how many ranks share each node,
        // which a split does not change.
        let group = Communicator(handle: MPIComm(raw: comm), local: MPIComm(raw: local), rank: Int(groupRank), size: Int(groupSize),
                                 jobRank: jobRank, jobSize: jobSize, localRank: Int(localRank), localSize: Int(localSize),
                                 processorName: processorName, blasThreads: blasThreads, blasThreadsReason: blasThreadsReason)
        return (group, index)
    }
}
