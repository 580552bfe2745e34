import Distributed
import Foundation
import Core
import XCTest

/// The pure pieces behind the cross-rank checks: the configuration fingerprint and the error messages.
final class DiagnosticsTests: XCTestCase {
    /// The configuration fingerprint the ranks compare is the first 8 bytes of SHA-256, big-endian
    /// (FIPS 180-4 vectors for "" and "abc"); one changed character changes it.
    func testConfigurationFingerprintIsTheSHA256Prefix() {
        XCTAssertEqual(SHA256.prefix64(""), 0xe3b0_c442_98fc_1c14)
        XCTAssertEqual(SHA256.prefix64("abc"), 0xba78_16bf_8f01_cfea)
        XCTAssertNotEqual(SHA256.prefix64("{\"seed\":1}"), SHA256.prefix64("{\"seed\":2}"))
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
