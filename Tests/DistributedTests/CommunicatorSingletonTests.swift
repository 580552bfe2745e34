import Bench
import Core
import Distributed
import Foundation
import XCTest

/// The communicator inside the test process: an MPI singleton of size 1 (no mpirun): its shape and
/// its error messages. What the collectives compute is tested where a wrong result could show:
/// under mpirun (MPILaunchTests) and across in-process replicas (InProcessReplicasTests).
final class CommunicatorSingletonTests: XCTestCase {
    func testSingletonShape() throws {
        let comm = try Communicator.world()
        XCTAssertTrue(comm === (try Communicator.world()), "world() returns one shared instance")
        XCTAssertEqual(comm.rank, 0)
        XCTAssertEqual(comm.size, 1)
        XCTAssertEqual(comm.localRank, 0)
        XCTAssertEqual(comm.localSize, 1)
        XCTAssertTrue(comm.isRoot)
        XCTAssertFalse(comm.processorName.isEmpty)
        XCTAssertEqual(comm.replicas, 1)
    }

    func testBadRootIsAClearError() throws {
        let comm = try Communicator.world()
        var values: [Float] = [1]
        XCTAssertThrowsError(try comm.broadcast(&values, root: 3)) { error in
            XCTAssertEqual("\(error)", "root rank 3 is out of range: the job has 1 rank(s), 0..<1")
        }
    }

    /// The whole self-test in process: the same code the mpirun tests launch, at size 1.
    func testSelfTestPassesOnOneRank() throws {
        var options = MPISelfTest.Options()
        options.largeCount = 10_000
        options.timingRepeats = 1
        var selfTest = MPISelfTest(communicator: try Communicator.world(), options: options)
        let report = try selfTest.run()
        XCTAssertTrue(report.ok, "\(report.failures)")
        XCTAssertEqual(report.ranks, 1)
        XCTAssertGreaterThanOrEqual(report.passed.count, 25, "\(report.passed)")
    }
}
