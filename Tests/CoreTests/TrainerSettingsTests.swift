@testable import Core
import XCTest

/// `TrainerSettings`' derived values.
final class TrainerSettingsTests: XCTestCase {
    /// Phase 2's default deterministic unit: the global batch over its largest power-of-two factor,
    /// at most 64 units.
    func testDefaultLatentUnitCutsTheBatchIntoAPowerOfTwoOfUnits() {
        for (batch, unit) in [(20_000, 625), (11_136, 174), (16, 1), (24, 3), (448, 7), (20_001, 20_001), (1 << 12, 64), (1, 1)] {
            XCTAssertEqual(TrainerSettings.defaultLatentUnit(globalBatch: batch), unit, "global batch \(batch)")
        }
    }
}
