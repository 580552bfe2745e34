import Core
import Distributed
import Foundation
import XCTest

/// The communicator inside the test process: an MPI singleton of size 1 (no mpirun), where every
/// collective must be the identity and the error paths must still say what is wrong.
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

    func testCollectivesAreTheIdentityOnOneRank() throws {
        let comm = try Communicator.world()
        var floats: [Float] = [1.5, -2, 3]
        for op in [ReduceOp.sum, .average, .max, .min] {
            try comm.allreduce(&floats, op)
            XCTAssertEqual(floats, [1.5, -2, 3], "\(op)")
        }
        XCTAssertEqual(try comm.allreduce(2.25, .average), 2.25)
        XCTAssertEqual(try comm.allreduce(UInt64.max, .max), UInt64.max)
        var empty: [Double] = []
        try comm.allreduce(&empty, .sum)  // an empty buffer is fine, not a crash
        var doubles: [Double] = [4, 5]
        try comm.broadcast(&doubles, root: 0)
        XCTAssertEqual(doubles, [4, 5])
        XCTAssertEqual(try comm.broadcast("héllo", root: 0), "héllo")
        XCTAssertEqual(try comm.broadcast(Data([1, 2, 3])), Data([1, 2, 3]))
        XCTAssertEqual(try comm.allgather("only"), ["only"])
        XCTAssertEqual(try comm.allgather(Int32(7)), [7])
        try comm.barrier()
        let reducer: Reducer = comm
        var sums: [Double] = [1, 2]
        sums.withUnsafeMutableBufferPointer { reducer.sum($0.baseAddress!, count: 2) }
        XCTAssertEqual(sums, [1, 2])
    }

    func testBadRootIsAClearError() throws {
        let comm = try Communicator.world()
        var values: [Float] = [1]
        XCTAssertThrowsError(try comm.broadcast(&values, root: 3)) { error in
            XCTAssertEqual("\(error)", "root rank 3 is out of range: the job has 1 rank(s), 0..<1")
        }
    }

    func testFlagsAndAgreementOnOneRank() throws {
        let comm = try Communicator.world()
        XCTAssertEqual(try comm.anyRank(false), RankFlags(firstRank: nil, lastRank: nil))
        XCTAssertEqual(try comm.anyRank(true), RankFlags(firstRank: 0, lastRank: 0))
        XCTAssertNoThrow(try comm.agree(on: 42, what: "configuration"))
        XCTAssertNoThrow(try comm.checkFinite(true, step: 1, what: "loss"))
        XCTAssertThrowsError(try comm.checkFinite(false, step: 7, what: "gradient norm")) { error in
            XCTAssertTrue(error is CollectiveError)
            XCTAssertEqual("\(error)", "step 7: non-finite gradient norm on rank 0; stopping every rank before the weights are updated")
        }
    }

    func testAllreduceTimingOnOneRankIsTiny() throws {
        let comm = try Communicator.world()
        let seconds = try comm.allreduceTiming(count: 1000, repeats: 3)
        XCTAssertGreaterThanOrEqual(seconds, 0)
        XCTAssertLessThan(seconds, 0.01, "one rank does no communication")
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
