import Distributed
import Foundation
import Core
import XCTest

/// The pure pieces behind the cross-rank checks: the stable hash and the error messages.
final class DiagnosticsTests: XCTestCase {
    /// Published FNV-1a 64 test vectors (Fowler/Noll/Vo reference test suite).
    func testFNV1aVectors() {
        XCTAssertEqual(stableHash64(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(stableHash64("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(stableHash64("foobar"), 0x8594_4171_f739_67e8)
        XCTAssertEqual(stableHash64(Data("foobar".utf8)), stableHash64("foobar"))
    }

    func testHasherSeparatesFields() {
        var a = StableHasher(), b = StableHasher()
        a.combine("ab"); a.combine("c")
        b.combine("a"); b.combine("bc")
        XCTAssertNotEqual(a.value, b.value)
        var c = StableHasher()
        c.combine("ab"); c.combine("c")
        XCTAssertEqual(a.value, c.value, "same input, same hash")
        var d = StableHasher()
        d.combine(UInt64(1))
        var e = StableHasher()
        e.combine(UInt64(1) << 56)
        XCTAssertNotEqual(d.value, e.value)
    }

    func testDisagreementNamesTheRanks() {
        let good: UInt64 = 0x1234, bad: UInt64 = 0xabc
        let error = RankDisagreement(what: "configuration", hashes: [good, good, good, bad, good, good, bad, good],
                                     hint: "every rank must get the same flags and dataset")
        XCTAssertEqual(error.description,
                       "configuration differs between ranks: ranks 0-2, 4-5, 7 hash 0x0000000000001234; "
                       + "ranks 3, 6 hash 0x0000000000000abc — every rank must get the same flags and dataset")
    }

    func testContainsNonFinite() {
        var values = [Float](repeating: 1e30, count: 1003)
        values[17] = -Float.greatestFiniteMagnitude
        values[18] = Float.leastNonzeroMagnitude
        XCTAssertFalse(containsNonFinite(values, count: values.count))
        for special in [Float.nan, Float.infinity, -Float.infinity, Float.signalingNaN] {
            var copy = values
            copy[1002] = special
            XCTAssertTrue(containsNonFinite(copy, count: copy.count), "\(special)")
            XCTAssertFalse(containsNonFinite(copy, count: 1002), "the bad value is past count")
        }
    }
}
