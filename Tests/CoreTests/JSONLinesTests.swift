import XCTest
@testable import Core

final class JSONLinesTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jsonl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func lines(_ path: String) throws -> [String] {
        let r = try FileReader(path: path)
        return String(decoding: try r.read(count: r.size, at: 0), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    private struct Line: Codable, Equatable {
        var step: Int
        var loss: Double
        var lr: Float
        var note: String = ""
        var flag: Bool = false
    }

    func testLinesAreSortedKeyJSONWrittenImmediately() throws {
        let path = directory + "/metrics.jsonl"
        let log = try JSONLinesWriter<Line>(path: path)
        try log.append(Line(step: 1, loss: 0.001, lr: 1e-3))
        // Visible before close: each line is written through at once. Floats in their shortest form.
        XCTAssertEqual(try lines(path), [#"{"flag":false,"loss":0.001,"lr":0.001,"note":"","step":1}"#, ""])
        try log.append(Line(step: 2, loss: .nan, lr: .infinity, note: "quote \" backslash \\ slash / newline \n bell \u{07} π", flag: true))
        try log.append(Line(step: 3, loss: -.infinity, lr: 1.5e-7))
        log.close()
        let text = try lines(path)
        XCTAssertEqual(text.count, 4)
        XCTAssertEqual(text[1], #"{"flag":true,"loss":"NaN","lr":"Infinity","note":"quote \" backslash \\ slash / newline \n bell \u0007 π","step":2}"#)
        XCTAssertEqual(text[2], #"{"flag":false,"loss":"-Infinity","lr":1.5e-07,"note":"","step":3}"#)
        let back = try JSONLines.read(Line.self, from: path)
        XCTAssertEqual(back.map(\.step), [1, 2, 3])
        XCTAssertTrue(back[1].loss.isNaN)
        XCTAssertEqual(back[1].lr, .infinity)
        XCTAssertEqual(back[1].note, "quote \" backslash \\ slash / newline \n bell \u{07} π")
        XCTAssertEqual(back[2], Line(step: 3, loss: -.infinity, lr: 1.5e-7))
    }

    func testAppendTruncateAndTornLastLine() throws {
        let path = directory + "/m.jsonl"
        let a = Line(step: 1, loss: 1, lr: 1), b = Line(step: 2, loss: 2, lr: 2)
        try JSONLinesWriter(path: path).append(a)
        try JSONLinesWriter(path: path).append(b)
        XCTAssertEqual(try JSONLines.read(Line.self, from: path), [a, b])
        // A crash mid-line leaves a torn last line: the reader leaves it out, and the next writer
        // starts on a fresh line (after which the torn line is an error a reader reports).
        let aLine = try JSONLines.line(a)
        try AtomicFile.write(aLine + Array(#"{"flag":fa"#.utf8), to: path)
        XCTAssertEqual(try JSONLines.read(Line.self, from: path), [a])
        try JSONLinesWriter(path: path).append(b)
        XCTAssertEqual(try lines(path).count, 4)
        XCTAssertThrowsError(try JSONLines.read(Line.self, from: path)) {
            XCTAssertTrue("\($0)".hasPrefix(path + " line 2: not valid JSON"), "\($0)")
        }
        try JSONLinesWriter(path: path, truncate: true).append(b)
        XCTAssertEqual(try JSONLines.read(Line.self, from: path), [b])
        XCTAssertThrowsError(try JSONLinesWriter<Line>(path: directory + "/no/dir/m.jsonl")) {
            XCTAssertTrue("\($0)".contains("cannot open the log for appending: No such file"), "\($0)")
        }
    }

    func testReadErrorsNameTheLineAndTheField() throws {
        let path = directory + "/bad.jsonl"
        let good = #"{"flag":false,"loss":0.5,"lr":0.001,"note":"","step":1}"#
        for (line2, expected) in [
            (#"{"flag":false,"loss":"high","lr":0.001,"note":"","step":2}"#, "line 2: field loss: expected a number, found a string"),
            (#"{"flag":false,"loss":0.5,"lr":0.001,"note":""}"#, "line 2: field step: missing"),
            (#"{"flag":false,"loss":0.5,"lr":0.001,"note":"","step":2.5}"#, "line 2: field step: expected an integer, found 2.5"),
            (#"{"flag":null,"loss":0.5,"lr":0.001,"note":"","step":2}"#, "line 2: field flag: expected true or false, found null"),
        ] {
            try AtomicFile.write(Array((good + "\n" + line2 + "\n").utf8), to: path)
            XCTAssertThrowsError(try JSONLines.read(Line.self, from: path), line2) {
                XCTAssertEqual("\($0)", "\(path) \(expected)")
            }
        }
    }

    private func report(_ step: Int, _ reconstruction: Double) -> StepReport {
        var terms = LossTerms()
        terms.reconstruction = reconstruction
        terms.penalty = 0.25
        return StepReport(step: step, epoch: step / 3, terms: terms, learningRate: 1e-3, seconds: 0.5, allreduceSeconds: 0.01,
                          waitSeconds: 0, samples: 32, skipped: step == 2)
    }

    /// metrics.jsonl: the documented keys, read back as the records written, and a resumed log
    /// keeps exactly the steps up to the checkpoint (the interrupted run's later and torn lines go).
    func testMetricsLogSchemaAndResume() throws {
        let path = directory + "/metrics.jsonl"
        let log = try MetricsLog<MetricsRecord>(path: path, keepingStepsUpTo: 0)
        for s in 1...5 { try log.append(report(s, 1 / Double(s))) }
        log.close()
        let first = try lines(path)[0]
        let keys = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]).keys
        XCTAssertEqual(Set(keys), ["step", "epoch", "loss", "reconstruction", "latent", "prediction", "penalty", "lr",
                                   "samples_per_second", "step_seconds", "allreduce_seconds", "skipped"])
        let records = try JSONLines.read(MetricsRecord.self, from: path)
        XCTAssertEqual(records, (1...5).map { MetricsRecord(report($0, 1 / Double($0))) })
        XCTAssertEqual(records[3].loss, 0.25 + 0.25)
        XCTAssertEqual(records[0].samplesPerSecond, 64)
        XCTAssertEqual(records.map(\.skipped), [false, true, false, false, false])

        try AtomicFile.write(Array(try lines(path).joined(separator: "\n").utf8) + Array(#"{"allreduce_sec"#.utf8), to: path)
        try MetricsLog<MetricsRecord>(path: path, keepingStepsUpTo: 3).append(report(4, 0.125))
        XCTAssertEqual(try JSONLines.read(MetricsRecord.self, from: path).map(\.step), [1, 2, 3, 4])
        XCTAssertEqual(try JSONLines.read(MetricsRecord.self, from: path).last?.terms.reconstruction, 0.125)
        try MetricsLog<MetricsRecord>(path: path, keepingStepsUpTo: 0).append(report(1, 1))
        XCTAssertEqual(try JSONLines.read(MetricsRecord.self, from: path).count, 1, "a fresh run starts an empty log")
    }
}
