import CMPI
import Core
import Foundation

extension Communicator {
    /// A barrier that sleeps between polls instead of spinning: for ranks that wait while one rank
    /// works alone (rank 0 simulating the dataset, ending together after an error). Open MPI's
    /// MPI_Barrier busy-polls, which would take a core from the working rank on a full node.
    /// Returns false if `deadline` seconds pass first (nil: wait as long as it takes).
    public func idleBarrier(deadline: Double? = nil) throws -> Bool {
        guard size > 1 else { return true }
        var request: MPI_Request? = cmpi_request_null()
        try mpiCheck(MPI_Ibarrier(handle.raw, &request), "MPI_Ibarrier")
        let waiting = Stopwatch()
        var done: Int32 = 0
        while true {
            try mpiCheck(MPI_Test(&request, &done, cmpi_status_ignore()), "MPI_Test")
            if done != 0 { return true }
            if let deadline, waiting.seconds > deadline { return false }
            usleep(1000)
        }
    }
}
