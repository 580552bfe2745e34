import XCTest
@testable import Core

final class SafeTensorsTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A file from a literal header and data section (for malformed-file tests).
    private func file(_ header: String, data: [UInt8] = []) -> [UInt8] {
        let json = Array(header.utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + data
    }

    /// Asserts parsing fails with a FileError naming the path, the tensor (if given) and `phrase`.
    private func assertRejects(_ bytes: [UInt8], tensor: String? = nil, _ phrase: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(bytes: bytes, path: "x.safetensors"), file: file, line: line) { error in
            guard let e = error as? FileError else { return XCTFail("not a FileError: \(error)", file: file, line: line) }
            let text = "\(e)"
            XCTAssertTrue(text.hasPrefix("x.safetensors"), text, file: file, line: line)
            if let tensor { XCTAssertEqual(e.item, tensor, text, file: file, line: line) }
            XCTAssertTrue(text.contains(phrase), "expected '\(phrase)' in: \(text)", file: file, line: line)
            XCTAssertFalse(e.advice.isEmpty, file: file, line: line)
        }
    }

    func testRoundTripAllWriterTypes() throws {
        var w = SafeTensorsWriter(metadata: ["config": "{\"d\": 8, \"name\": \"π \\\"q\\\"\"}", "rng": "1 2 3 18446744073709551615"])
        let f: [Float] = [1, -2.5, .pi, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        w.add("a.weight", shape: [2, 3], floats: f)
        w.add("count", shape: [], int64s: [Int64.min])
        w.add("i32", shape: [3], int32s: [-1, 0, .max])
        w.add("u64", shape: [1], uint64s: [.max])
        w.add("bytes", shape: [5], uint8s: [0, 1, 2, 254, 255])
        w.add("empty", shape: [0, 4], floats: [])
        let path = directory + "/t.safetensors"
        try w.write(to: path)

        let r = try SafeTensorsFile.read(path)
        XCTAssertEqual(r.metadata, w.metadata)
        XCTAssertEqual(try r.floats("a.weight").map(\.bitPattern), f.map(\.bitPattern))
        XCTAssertEqual(try r.int64s("count"), [Int64.min])
        XCTAssertEqual(Array(try r.bytes(of: "i32")), [255, 255, 255, 255, 0, 0, 0, 0, 255, 255, 255, 127])
        XCTAssertEqual(Array(try r.bytes(of: "u64")), [UInt8](repeating: 255, count: 8))
        XCTAssertEqual(Array(try r.bytes(of: "bytes")), [0, 1, 2, 254, 255])
        XCTAssertEqual(try r.floats("empty"), [])
        XCTAssertEqual(r.entry(named: "a.weight")?.shape, [2, 3])
        XCTAssertEqual(r.entry(named: "count")?.shape, [])
        XCTAssertEqual(r.entry(named: "i32")?.dtype, .i32)
        XCTAssertEqual(Set(r.names), ["a.weight", "count", "i32", "u64", "bytes", "empty"])

        // Layout: length prefix, JSON padded to 8-byte alignment, nothing left behind.
        let reader = try FileReader(path: path)
        let bytes = try reader.read(count: reader.size, at: 0)
        XCTAssertEqual(try w.headerBytes().count % 8, 0)
        XCTAssertEqual(bytes, try w.fileBytes())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["t.safetensors"], "no temporary file left")
    }

    /// Sorted keys at every level (equal content, equal bytes), padded with spaces to 8 bytes.
    func testHeaderIsTheDocumentedJSON() throws {
        var w = SafeTensorsWriter(metadata: ["k": "v", "a/b": "quote \" π"])
        w.add("y", shape: [], int64s: [3])
        w.add("x", shape: [2], floats: [1, 2])
        let h = try w.headerBytes()
        let text = #"{"__metadata__":{"a/b":"quote \" π","k":"v"},"x":{"data_offsets":[8,16],"dtype":"F32","shape":[2]},"y":{"data_offsets":[0,8],"dtype":"I64","shape":[]}}"#
        let padding = (8 - (8 + text.utf8.count) % 8) % 8
        XCTAssertEqual(String(decoding: h[8...], as: UTF8.self), text + String(repeating: " ", count: padding))
        XCTAssertEqual(h[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }, h.count - 8)
    }

    func testAcceptsUnpaddedAndUnsortedHeaders() throws {
        // Another writer's valid file: no padding (data unaligned), entries not in offset order.
        let data: [UInt8] = [0, 0, 128, 63] + [7, 0, 0, 0, 0, 0, 0, 0]
        let r = try SafeTensorsFile(bytes: file(#"{"b":{"dtype":"I64","shape":[1],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: data))
        XCTAssertEqual(try r.floats("a"), [1])
        XCTAssertEqual(try r.int64s("b"), [7])
        XCTAssertEqual(r.names, ["a", "b"], "entries in data order")
    }

    /// A file written by the official library (tools/check_safetensors_torch.py write-reference):
    /// unaligned header, keys sorted by the library, a 0-d I64, an empty tensor, UTF-8 metadata.
    func testReadsFileWrittenBySafetensorsTorch() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/torch_written.safetensors").path
        let r = try SafeTensorsFile.read(path)
        XCTAssertEqual(r.metadata, ["written_by": "safetensors.torch", "note": "ünïcode"])
        XCTAssertEqual(try r.floats("conv.weight"), (0..<24).map { Float($0) * 0.25 - 1 })
        XCTAssertEqual(r.entry(named: "conv.weight")?.shape, [2, 3, 2, 2])
        XCTAssertEqual(try r.int64s("bn.num_batches_tracked"), [17])
        XCTAssertEqual(r.entry(named: "bn.num_batches_tracked")?.shape, [])
        XCTAssertEqual(try r.floats("bn.running_var"), [1.5, 2.5])
        XCTAssertEqual(r.entry(named: "empty")?.shape, [0, 3])
    }

    func testRejectsShortAndAbsurdFiles() {
        assertRejects([], "file is empty")
        assertRejects([1, 2, 3, 4, 5], "too short")
        var absurd: [UInt8] = []
        withUnsafeBytes(of: UInt64(200_000_000).littleEndian) { absurd.append(contentsOf: $0) }
        assertRejects(absurd + [UInt8](repeating: 32, count: 100), "over the 100000000-byte limit")
        assertRejects([255, 255, 255, 255, 255, 255, 255, 255, 0], "over the 100000000-byte limit")
        var long: [UInt8] = []
        withUnsafeBytes(of: UInt64(50).littleEndian) { long.append(contentsOf: $0) }
        assertRejects(long + Array("{}".utf8), "only 2 bytes follow")
    }

    func testRejectsBadJSON() {
        assertRejects(file("{\"a\": "), "not valid JSON")
        assertRejects(file("[1, 2]"), "not a JSON object")
        assertRejects(file("{\"a\": 1} x"), "not valid JSON")
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                           data: [UInt8](repeating: 0, count: 8)), "duplicate key \"a\"")
        assertRejects(file(#"{"__metadata__":{"k":1}}"#), tensor: "__metadata__", "not a string")
        assertRejects([2, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF], "not valid JSON")
    }

    /// The header's parser (IO/JSON.swift): what RFC 8259 allows, and nothing Foundation would let through silently.
    func testStrictHeaderParser() throws {
        XCTAssertEqual(try JSONValue.parse(#" {"a": [1, -2.5e3, true, null, "\u00e9\ud83d\ude00"]} "#),
                       .object([("a", .array([1, .number(-2500), true, nil, "é😀"]))]))
        XCTAssertEqual(try JSONValue.parse("9223372036854775807"), .int(Int.max), "integers stay exact")
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "{\"a\":1 \"b\":2}", "nul", "\"\u{01}\"",
                    "{\"k\":1,\"k\":2}", String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            XCTAssertThrowsError(try JSONValue.parse(bad), bad)
        }
        XCTAssertThrowsError(try JSONValue.parse([0x22, 0xC3, 0x28, 0x22])) { XCTAssertTrue("\($0)".contains("UTF-8"), "\($0)") }
    }

    func testRejectsBadEntries() {
        let four = [UInt8](repeating: 0, count: 4)
        assertRejects(file(#"{"w":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}"#, data: four), tensor: "w", "unknown dtype 'F31'")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four), tensor: "w", "needs 8 bytes but data_offsets span 4")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four), tensor: "w", "not a non-negative integer")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: four), tensor: "w", "not a non-negative integer")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four), tensor: "w", "begin ≤ end")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, data: four), tensor: "w", "begin ≤ end")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1]}}"#, data: four), tensor: "w", "missing or non-array 'data_offsets'")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}"#, data: four), tensor: "w", "unknown field 'extra'")
        assertRejects(file(#"{"w":[1]}"#), tensor: "w", "not a JSON object")
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, data: four), tensor: "w", "absurdly large")
    }

    func testRejectsOffsetsThatDoNotTileTheData() {
        let eight = [UInt8](repeating: 0, count: 8)
        // Out of range: the file is truncated.
        assertRejects(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight), tensor: "w", "truncated")
        // Overlap.
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight),
                      tensor: "b", "overlap tensor 'a'")
        // Gap.
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), tensor: "a", "gap")
        // Trailing bytes not covered by any tensor.
        assertRejects(file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight), "cover only 4")
    }

    func testAccessorErrorsNameTheTensor() throws {
        var w = SafeTensorsWriter()
        w.add("n", shape: [], int64s: [1])
        let r = try SafeTensorsFile(bytes: w.fileBytes(), path: "m.safetensors")
        XCTAssertThrowsError(try r.floats("n")) { XCTAssertTrue("\($0)".contains("m.safetensors: 'n': has dtype I64, expected F32"), "\($0)") }
        XCTAssertThrowsError(try r.floats("missing")) { XCTAssertTrue("\($0)".contains("'missing': no such tensor"), "\($0)") }
        var out: Float = 0
        var w2 = SafeTensorsWriter()
        w2.add("v", shape: [2], floats: [1, 2])
        XCTAssertThrowsError(try SafeTensorsFile(bytes: w2.fileBytes()).copyFloats("v", to: &out, count: 1)) {
            XCTAssertTrue("\($0)".contains("has 2 elements, expected 1"), "\($0)")
        }
    }

    func testFileSystemErrors() {
        XCTAssertThrowsError(try SafeTensorsFile.read(directory + "/nope.safetensors")) {
            XCTAssertTrue("\($0)".contains("nope.safetensors: cannot open: No such file or directory"), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensorsFile.read(directory)) { XCTAssertTrue("\($0)".contains("directory"), "\($0)") }
        var w = SafeTensorsWriter()
        w.add("x", shape: [1], floats: [1])
        XCTAssertThrowsError(try w.write(to: directory + "/no/such/dir/x.safetensors")) {
            XCTAssertTrue("\($0)".contains("cannot create the temporary file"), "\($0)")
        }
    }
}
