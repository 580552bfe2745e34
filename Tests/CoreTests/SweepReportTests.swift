import XCTest
import Foundation
@testable import Core

/// The sweep's report: a seed sweep is summarised per model as mean ± sample standard deviation over
/// its points; any other knob is not averaged over its values.
final class SweepReportTests: XCTestCase {
    private func model(_ name: String, vpt: Double, jump: Double, recon: Double?) -> PipelineReport.ModelSummary {
        PipelineReport.ModelSummary(name: name, title: name.uppercased(), runDirectory: "r", evaluationDirectory: "e",
                                    vpt: ["0.01": vpt, "0.005": vpt / 2], vptStd: [:], vptNormalized: 0, vptReverse: nil,
                                    jumpRatioMedian: jump, roughnessMedian: 0.5, reconMSE: recon,
                                    interpolationMSE: nil, interpolationUnavailable: nil, stateR2: nil)
    }

    private func summary(key: String) -> SweepReport.Summary {
        SweepReport.Summary(key: key, ranks: 2, groups: 2, points: [
            SweepReport.Point(value: "0", directory: "a", models: [model("cpae", vpt: 90, jump: 1.5, recon: 1e-3), model("ae", vpt: 60, jump: 3, recon: 2e-3)], seconds: 1),
            SweepReport.Point(value: "1", directory: "b", models: [model("cpae", vpt: 100, jump: 2.5, recon: 3e-3), model("ae", vpt: 80, jump: 5, recon: nil)], seconds: 1),
        ])
    }

    func testASeedSweepReportsEachModelsMeanAndSampleStandardDeviation() throws {
        let text = try XCTUnwrap(SweepReport.seedMeans(summary(key: "train.seed")))
        // CpAE: VPT 90, 100 → 95 ± 7.07 (n − 1); jump 1.5, 2.5 → 2.00 ± 0.71; MSE 1e-3, 3e-3 → 2e-3 ± 1.414e-3.
        XCTAssertTrue(text.contains("| CPAE | 2 | 2.000e-03 ± 1.414e-03 | 2.00 ± 0.71 | 0.50 ± 0.00 | 95.0% ± 7.1% | 47.5% ± 3.5% |"), text)
        // AE: one reconstruction MSE is missing, and the cell says over how many seeds it is.
        XCTAssertTrue(text.contains("| AE | 2 | 2.000e-03 ± 0.000e+00 (1 of 2) | 4.00 ± 1.41 |"), text)
        XCTAssertTrue(SweepReport.markdown(summary(key: "ode.seed")).contains("Mean ± sample standard deviation over the 2 values of `ode.seed`"))
    }

    func testOtherKnobsAreNotAveragedOverTheirValues() {
        XCTAssertNil(SweepReport.seedMeans(summary(key: "train.penalty-weight")))
        XCTAssertFalse(SweepReport.markdown(summary(key: "train.kernel")).contains("Mean ±"))
        var one = summary(key: "train.seed"); one.points.removeLast()
        XCTAssertNil(SweepReport.seedMeans(one), "one seed has no spread to report")
    }
}
