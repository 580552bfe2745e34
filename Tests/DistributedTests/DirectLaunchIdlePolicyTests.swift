@testable import Distributed
import XCTest

/// The rule that makes srun's ranks yield when they share cores (docs/cluster.md §Transport), on the
/// environments srun gives its tasks (copied from Slurm 22.05's tasks on a 2-CPU node).
final class DirectLaunchIdlePolicyTests: XCTestCase {
    private let srunTask = ["SLURM_STEP_ID": "0", "SLURM_NODEID": "0", "SLURM_STEP_TASKS_PER_NODE": "2"]

    private func decide(_ extra: [String: String], ownCPUs: Int = 2) -> Bool? {
        DirectLaunchIdlePolicy.decide(environment: srunTask.merging(extra) { _, b in b }, ownCPUs: ownCPUs)?.yield
    }

    func testOneCoreEachBusyPolls() {
        XCTAssertEqual(decide(["SLURM_CPU_BIND_TYPE": "mask_cpu:", "SLURM_CPU_BIND_LIST": "0x1,0x2"], ownCPUs: 1), false)
        XCTAssertEqual(decide(["SLURM_CPU_BIND_TYPE": "none", "SLURM_CPU_BIND_LIST": ""]), false)
    }

    func testSharedCoresYield() {
        XCTAssertEqual(decide(["SLURM_CPU_BIND_TYPE": "map_cpu:", "SLURM_CPU_BIND_LIST": "0,0"], ownCPUs: 1), true)
        // srun -n 8 --overcommit on 2 CPUs: every task bound to CPU 0.
        XCTAssertEqual(decide(["SLURM_STEP_TASKS_PER_NODE": "8", "SLURM_CPU_BIND_TYPE": "mask_cpu:", "SLURM_CPU_BIND_LIST": "0x1"],
                              ownCPUs: 1), true)
        // Unbound, more tasks than the CPUs this rank may use.
        XCTAssertEqual(decide(["SLURM_STEP_TASKS_PER_NODE": "4", "SLURM_CPU_BIND_TYPE": "none"], ownCPUs: 2), true)
    }

    func testTasksPerNodeFollowsTheNode() {
        XCTAssertEqual(DirectLaunchIdlePolicy.tasksOnThisNode(["SLURM_STEP_TASKS_PER_NODE": "4(x3),2", "SLURM_NODEID": "2"]), 4)
        XCTAssertEqual(DirectLaunchIdlePolicy.tasksOnThisNode(["SLURM_STEP_TASKS_PER_NODE": "4(x3),2", "SLURM_NODEID": "3"]), 2)
        XCTAssertEqual(DirectLaunchIdlePolicy.boundCPUs(list: ["0x3", "0xC"], masks: true, tasks: 2), [0, 1, 2, 3])
        XCTAssertEqual(DirectLaunchIdlePolicy.boundCPUs(list: ["0x10", "5"], masks: false, tasks: 2), [16, 5])
    }

    func testNotApplicableLeavesOpenMPIAlone() {
        XCTAssertNil(DirectLaunchIdlePolicy.decide(environment: [:], ownCPUs: 1), "not under srun")
        XCTAssertNil(decide(["OMPI_COMM_WORLD_SIZE": "2", "SLURM_CPU_BIND_LIST": "0,0", "SLURM_CPU_BIND_TYPE": "map_cpu:"]),
                     "mpirun inside an allocation decides itself")
        XCTAssertNil(decide(["OMPI_MCA_mpi_yield_when_idle": "0", "SLURM_CPU_BIND_LIST": "0,0", "SLURM_CPU_BIND_TYPE": "map_cpu:"]),
                     "the user's setting wins")
    }
}
