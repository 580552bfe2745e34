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

    func testLinesAreValidJSONWrittenImmediately() throws {
        let path = directory + "/metrics.jsonl"
        let log = try JSONLinesWriter(path: path)
        try log.append(["step": 1, "loss": .float(0.001), "lr": .float(1e-3), "phase": "ae"])
        // Visible before close: each line is written through at once.
        XCTAssertEqual(try lines(path), [#"{"step":1,"loss":0.001,"lr":0.001,"phase":"ae"}"#, ""])
        try log.append(["step": 2, "loss": .float(.nan), "grad": .float(.infinity), "neg": .number(-.infinity),
                        "note": "quote \" backslash \\ newline \n tab \t bell \u{07} π", "flag": true, "none": nil])
        try log.append(["tiny": .float(1.5e-7), "big": .number(3e20), "int": .int(-42), "three": .number(3.0)])
        log.close()
        let text = try lines(path)
        XCTAssertEqual(text.count, 4)
        XCTAssertEqual(text[1], #"{"step":2,"loss":"NaN","grad":"Infinity","neg":"-Infinity","note":"quote \" backslash \\ newline \n tab \t bell \u0007 π","flag":true,"none":null}"#)
        XCTAssertEqual(text[2], #"{"tiny":1.5e-07,"big":3e+20,"int":-42,"three":3}"#)
        for line in text.dropLast() {
            guard case .object = try JSONValue.parse(line) else { return XCTFail("not an object: \(line)") }
        }
        XCTAssertEqual(try JSONValue.parse(text[1])["note"], .string("quote \" backslash \\ newline \n tab \t bell \u{07} π"))
        XCTAssertEqual(try JSONValue.parse(text[2])["tiny"], .number(1.5e-7))
    }

    func testAppendTruncateAndTornLastLine() throws {
        let path = directory + "/m.jsonl"
        try JSONLinesWriter(path: path).append(["a": 1])
        try JSONLinesWriter(path: path).append(["a": 2])
        XCTAssertEqual(try lines(path), [#"{"a":1}"#, #"{"a":2}"#, ""])
        // A crash mid-line leaves a torn line; the next writer starts on a fresh line.
        try AtomicFile.write(Array(#"{"a":1}"#.utf8) + Array("\n{\"a\":".utf8), to: path)
        try JSONLinesWriter(path: path).append(["a": 3])
        XCTAssertEqual(try lines(path), [#"{"a":1}"#, #"{"a":"#, #"{"a":3}"#, ""])
        try JSONLinesWriter(path: path, truncate: true).append(["b": 0])
        XCTAssertEqual(try lines(path), [#"{"b":0}"#, ""])
        XCTAssertThrowsError(try JSONLinesWriter(path: directory + "/no/dir/m.jsonl")) {
            XCTAssertTrue("\($0)".contains("cannot open the log for appending: No such file"), "\($0)")
        }
    }

    func testStrictParser() throws {
        XCTAssertEqual(try JSONValue.parse(#" {"a": [1, -2.5e3, true, null, "\u00e9\ud83d\ude00"]} "#),
                       .object([("a", .array([1, .number(-2500), true, nil, "é😀"]))]))
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "{\"a\":1 \"b\":2}", "nul", "\"\u{01}\"",
                    "{\"k\":1,\"k\":2}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xC3, 0x28, 0x22])) { XCTAssertTrue("\($0)".contains("UTF-8"), "\($0)") }
    }
}
