import XCTest
@testable import Core

final class SmokeTests: XCTestCase {
    func testRNGIsSeeded() {
        var a = RNG(seed: 7), b = RNG(seed: 7), c = RNG(seed: 8)
        XCTAssertEqual(a.next(), b.next())
        XCTAssertNotEqual(RNG(seed: 7).stateWords, c.stateWords)
        _ = c.next()
    }

    func testParameterStoreIsOneBuffer() {
        let s = ParameterStore(seed: 1)
        let a = s.addParameter("a", shape: [3, 4], initializer: .uniform(bound: 0.5))
        let b = s.addParameter("b", shape: [5000], initializer: .constant(2))
        XCTAssertEqual(a.offset, 0); XCTAssertEqual(b.offset, 12); XCTAssertEqual(s.parameterCount, 5012)
        XCTAssertTrue(s.valueArray(a).allSatisfy { abs($0) <= 0.5 })
        XCTAssertEqual(s.valueArray(b), [Float](repeating: 2, count: 5000))
    }
}
