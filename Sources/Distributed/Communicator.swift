import CMPI
import Core
import Foundation

/// An MPI communicator handle. `MPI_Comm` is an `OpaquePointer`, which Swift does not consider
/// Sendable; the handle itself is an immutable token that MPI lets any thread pass around.
struct MPIComm: @unchecked Sendable {
    let raw: MPI_Comm
}

/// The job's communicator over MPI_COMM_WORLD: rank, size, placement on the node, and the
/// collectives the trainer needs (Communicator+*.swift).
///
/// `Communicator.world()` initialises MPI once per process (thread level FUNNELED: call `world()`
/// and every collective from the same thread — the main thread in cpae-mpi; other threads may
/// compute, but not communicate) and registers MPI_Finalize to run at exit. Started without
/// mpirun it is an MPI singleton of size 1, and every collective is then a no-op or a copy.
///
/// Errors: MPI_ERRORS_RETURN is installed, so every failing MPI call throws `MPIError` with MPI's
/// error string. Errors should end the job through `runOrAbort`, never by a plain `exit`: a rank
/// that exits while the others sit in a collective would leave them hanging.
///
/// Threads: when several ranks share a node (`localSize > 1`) each rank gets a compute budget of
/// ONE thread — otherwise every rank would start one thread per core and the ranks' threads fight
/// for the same cores (docs/machines.md §Threads). A lone rank per node gets every core. Setting
/// `OPENBLAS_NUM_THREADS` (or `OMP_NUM_THREADS`) chooses the count instead. The budget goes to the
/// model (`computeBudget`); OpenBLAS itself is set to one thread, since the layers run their GEMMs
/// inside their own workers (see `ComputeBudget`).
public final class Communicator: @unchecked Sendable {
    /// This process's rank in the world, 0..<size.
    public let rank: Int
    /// Number of ranks in the job.
    public let size: Int
    /// Rank among the processes sharing this node's memory (MPI_COMM_TYPE_SHARED).
    public let localRank: Int
    /// Number of ranks on this node.
    public let localSize: Int
    /// MPI_Get_processor_name (the host name under Open MPI).
    public let processorName: String
    /// Threads per rank after the policy above (the model's compute budget), and why, for the run log.
    public let blasThreads: Int
    public let blasThreadsReason: String

    /// The MPI communicator this instance spans: MPI_COMM_WORLD, or a rank group's (`split`).
    let handle: MPIComm
    let local: MPIComm
    /// Ranks in the whole job (MPI_COMM_WORLD), which a group's errors must still bring down.
    public let jobSize: Int
    /// This process's rank in the whole job (equal to `rank` for the world).
    public let jobRank: Int
    /// True for a rank group made by `split`, false for the world.
    public var isGroup: Bool { handle.raw != cmpi_comm_world() }
    /// MPI_COMM_WORLD's handle, for the self-test's raw MPI calls (Bench/MPISelfTest.swift) only.
    @_spi(SelfTest) public var worldHandle: MPI_Comm { handle.raw }
    let watchdog = CollectiveWatchdog()

    /// True on rank 0, the rank that logs and writes checkpoints.
    public var isRoot: Bool { rank == 0 }

    /// The threads this rank's model may use.
    public var computeBudget: ComputeBudget { ComputeBudget(threads: blasThreads) }

    init(handle: MPIComm, local: MPIComm, rank: Int, size: Int, jobRank: Int, jobSize: Int, localRank: Int, localSize: Int,
         processorName: String, blasThreads: Int, blasThreadsReason: String) {
        self.handle = handle
        self.jobRank = jobRank
        self.jobSize = jobSize
        self.local = local
        self.rank = rank
        self.size = size
        self.localRank = localRank
        self.localSize = localSize
        self.processorName = processorName
        self.blasThreads = blasThreads
        self.blasThreadsReason = blasThreadsReason
    }

    // MARK: - The process-wide instance

    private static let lock = NSLock()
    nonisolated(unsafe) private static var shared: Communicator?
    nonisolated(unsafe) private static var finalized = false

    /// The world communicator, initialising MPI on first use. Thread-safe; later calls return the
    /// same instance. Throws if MPI cannot be initialised or was already finalised (MPI can be
    /// initialised only once per process).
    public static func world() throws -> Communicator {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        if finalized { throw DistributedError("MPI was already finalized in this process and cannot be initialized again") }
        let communicator = try makeWorld()
        shared = communicator
        // Finalize at normal process exit; error paths leave through abort/endTogether instead.
        atexit { Communicator.finalize() }
        return communicator
    }

    /// MPI_Finalize, once. Collective: call it on every rank, or let it run at exit. Communicators
    /// must not be used afterwards.
    public static func finalize() {
        lock.lock()
        defer { lock.unlock() }
        guard let communicator = shared, !finalized else { return }
        finalized = true
        shared = nil
        var local: MPI_Comm? = communicator.local.raw
        _ = MPI_Comm_free(&local)
        _ = MPI_Finalize()
    }

    private static func makeWorld() throws -> Communicator {
        var flag: Int32 = 0
        try mpiCheck(MPI_Finalized(&flag), "MPI_Finalized")
        if flag != 0 { throw DistributedError("MPI was finalized by other code in this process") }
        try mpiCheck(MPI_Initialized(&flag), "MPI_Initialized")
        var sharedCoresNotice: String?
        if flag == 0 {
            sharedCoresNotice = DirectLaunchIdlePolicy.applyBeforeInit()  // srun's ranks: yield when they share cores
            var provided: Int32 = 0
            try mpiCheck(MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided), "MPI_Init_thread")
        }
        let world: MPI_Comm = cmpi_comm_world()
        try mpiCheck(MPI_Comm_set_errhandler(world, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try mpiCheck(MPI_Comm_rank(world, &rank), "MPI_Comm_rank")
        try mpiCheck(MPI_Comm_size(world, &size), "MPI_Comm_size")
        if rank == 0, let sharedCoresNotice { writeToStderr(sharedCoresNotice) }

        // Ranks sharing this node: key = world rank keeps the local order equal to the world order.
        var splitResult: MPI_Comm? = nil
        try mpiCheck(MPI_Comm_split_type(world, cmpi_comm_type_shared(), rank, cmpi_info_null(), &splitResult),
                     "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)")
        guard let local = splitResult, local != cmpi_comm_null() else {
            throw DistributedError("MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) returned no communicator")
        }
        try mpiCheck(MPI_Comm_set_errhandler(local, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        var localRank: Int32 = 0, localSize: Int32 = 0
        try mpiCheck(MPI_Comm_rank(local, &localRank), "MPI_Comm_rank(local)")
        try mpiCheck(MPI_Comm_size(local, &localSize), "MPI_Comm_size(local)")

        var name = [CChar](repeating: 0, count: Int(cmpi_max_processor_name()) + 1)
        var nameLength: Int32 = 0
        try mpiCheck(MPI_Get_processor_name(&name, &nameLength), "MPI_Get_processor_name")
        let processorName = String(decoding: name[..<Int(nameLength)].map { UInt8(bitPattern: $0) }, as: UTF8.self)

        let (threads, reason) = applyBLASThreadPolicy(localSize: Int(localSize))
        return Communicator(handle: MPIComm(raw: world), local: MPIComm(raw: local), rank: Int(rank), size: Int(size), jobRank: Int(rank), jobSize: Int(size),
                            localRank: Int(localRank), localSize: Int(localSize), processorName: processorName,
                            blasThreads: threads, blasThreadsReason: reason)
    }

    /// One thread per rank when ranks share a node, unless the user chose a count; OpenBLAS
    /// single-threaded either way (the layers' workers are the threads).
    private static func applyBLASThreadPolicy(localSize: Int) -> (Int, String) {
        let chosen: (Int, String)
        let environment = ProcessInfo.processInfo.environment
        if let (variable, value) = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"].lazy
            .compactMap({ v in environment[v].flatMap { Int($0) }.map { (v, $0) } }).first(where: { $0.1 >= 1 }) {
            chosen = (value, "\(variable)=\(value) set by the user")
        } else if localSize > 1 {
            chosen = (1, "\(localSize) ranks share this node: 1 thread per rank")
        } else {
            chosen = (ProcessInfo.processInfo.activeProcessorCount, "one rank on this node: every core")
        }
        BLASThreads.set(1)
        return chosen
    }

    // MARK: - Basics

    /// MPI_Barrier over this communicator's ranks.
    public func barrier() throws {
        watchdog.begin("MPI_Barrier", count: 0, type: nil)
        defer { watchdog.end() }
        try mpiCheck(MPI_Barrier(handle.raw), "MPI_Barrier")
    }

    /// Ends the job with a message naming the stuck collective when any collective of this rank
    /// has not completed after `timeout` seconds (see `CollectiveWatchdog`). Off by default; the
    /// timeout must exceed the longest work one rank does while others wait (checkpoints, eval).
    public func startWatchdog(timeout: Double, exitCode: Int32 = 1) {
        watchdog.start(timeout: timeout, rank: jobRank, exitCode: exitCode)
    }

    /// Throws unless 0 <= root < size.
    func validate(root: Int) throws {
        guard (0..<size).contains(root) else {
            throw DistributedError("root rank \(root) is out of range: the job has \(size) rank(s), 0..<\(size)")
        }
    }
}
