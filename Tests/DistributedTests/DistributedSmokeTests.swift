import XCTest
@testable import Distributed

final class DistributedSmokeTests: XCTestCase {
    func testSingleton() { XCTAssertEqual(DistributedPlaceholder.worldSize(), 1) }
}
