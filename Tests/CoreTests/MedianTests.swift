import Core
import XCTest

final class MedianTests: XCTestCase {
    func testOddEvenAndEmpty() {
        XCTAssertEqual(median([3, 1, 2]), 2)
        XCTAssertEqual(median([4, 1, 3, 2]), 2.5)
        XCTAssertEqual(median([7]), 7)
        XCTAssertTrue(median([]).isNaN)
    }

    /// Unsorted input with an outlier: the median ignores it, as the jump ratio relies on.
    func testJumpRatioUsesTheMedianStep() {
        let z: [[Double]] = [[0], [1], [2], [3], [13]]   // steps 1, 1, 1, 10
        XCTAssertEqual(Continuity.jumpRatio(z), 10, accuracy: 1e-12)
    }
}
