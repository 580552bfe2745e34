import XCTest
@testable import Core

final class NPYTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    private func contents(_ path: String) throws -> [UInt8] {
        let r = try FileReader(path: path)
        return try r.read(count: r.size, at: 0)
    }

    private let a234: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }

    func testReadsNumPyWrittenFiles() throws {
        XCTAssertEqual(try NPY.read(fixture("numpy_f4_2x3x4.npy")), NPYArray(shape: [2, 3, 4], floats: a234))
        XCTAssertEqual(try NPY.read(fixture("numpy_u1_2x3.npy")), NPYArray(shape: [2, 3], bytes: [0, 1, 2, 253, 254, 255]))
        XCTAssertEqual(try NPY.read(fixture("numpy_f4_scalar.npy")), NPYArray(shape: [], floats: [2.5]))
        XCTAssertEqual(try NPY.read(fixture("numpy_f4_v2.npy")), NPYArray(shape: [3, 4], floats: Array(a234[0..<12])))
    }

    func testWritesTheBytesNumPyWrites() throws {
        for (array, name) in [(NPYArray(shape: [2, 3, 4], floats: a234), "numpy_f4_2x3x4.npy"),
                              (NPYArray(shape: [2, 3], bytes: [0, 1, 2, 253, 254, 255]), "numpy_u1_2x3.npy"),
                              (NPYArray(shape: [], floats: [2.5]), "numpy_f4_scalar.npy")] {
            let path = directory + "/" + name
            try NPY.write(array, to: path)
            XCTAssertEqual(try contents(path), try contents(fixture(name)), name)
        }
    }

    func testRoundTripShapesAndPointerWriter() throws {
        var rng = RNG(seed: 3)
        for shape in [[0], [7], [1, 1, 1, 1, 1], [3, 0, 2], [2, 3, 5, 7]] {
            let n = shape.reduce(1, *)
            let values = (0..<n).map { _ in rng.uniformFloat() * 2 - 1 }
            let path = directory + "/r.npy"
            try values.withUnsafeBufferPointer { try NPY.write(floats: $0.baseAddress!, shape: shape, to: path) }
            let back = try NPY.read(path)
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.floats?.map(\.bitPattern), values.map(\.bitPattern))
            let size = try FileReader(path: path).size
            XCTAssertEqual((size - n * 4) % 64, 0, "data starts on a 64-byte boundary")
        }
        let bytes = (0..<(4 * 3 * 8 * 16)).map { UInt8($0 % 256) }
        try NPY.write(NPYArray(shape: [4, 3, 8, 16], bytes: bytes), to: directory + "/u.npy")
        XCTAssertEqual(try NPY.read(directory + "/u.npy").bytes, bytes)
    }

    func testLongHeaderUsesVersion2() throws {
        let shape = [Int](repeating: 1, count: 30_000)   // a header that does not fit in 65 535 bytes
        let path = directory + "/v2.npy"
        try NPY.write(NPYArray(shape: shape, floats: [4]), to: path)
        let bytes = try contents(path)
        XCTAssertEqual(Array(bytes[6..<8]), [2, 0])
        XCTAssertEqual(try NPY.read(path), NPYArray(shape: shape, floats: [4]))
    }

    private func assertRejects(_ bytes: [UInt8], _ phrase: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = directory + "/bad.npy"
        try AtomicFile.write(bytes, to: path)
        XCTAssertThrowsError(try NPY.read(path), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(error is FileError && text.hasPrefix(path) && text.contains(phrase),
                          "expected '\(phrase)' in: \(text)", file: file, line: line)
        }
    }

    func testRejectsBadFiles() throws {
        let good = try contents(fixture("numpy_f4_2x3x4.npy"))
        try assertRejects([], "file is empty")
        try assertRejects(Array(good.prefix(9)), "too short")
        try assertRejects(Array("PK\u{3}\u{4} this is a zip".utf8), "magic")
        var version = good
        version[6] = 4
        try assertRejects(version, "unsupported .npy version 4.0")
        var length = good
        length[8] = 0xFF; length[9] = 0xFF
        try assertRejects(length, "does not fit")
        try assertRejects(Array(good.prefix(good.count - 4)), "needs 96 data bytes but the file has 92 (truncated)")
        try assertRejects(good + [0], "(trailing bytes)")
        try assertRejects(try contents(fixture("numpy_f4_fortran.npy")), "Fortran order")
        try assertRejects(try contents(fixture("numpy_f8.npy")), "element type '<f8' is not supported")
        func withHeader(_ dict: String) -> [UInt8] {
            var h = Array(dict.utf8)
            while (10 + h.count + 1) % 64 != 0 { h.append(0x20) }
            h.append(0x0A)
            return NPY.magic + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + [UInt8](repeating: 0, count: 8)
        }
        try assertRejects(withHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), "'>f4' is not supported")
        try assertRejects(withHeader("{'descr': '<f4', 'shape': (2,), }"), "lacks")
        try assertRejects(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"), "unexpected or repeated key 'x'")
        try assertRejects(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"), "non-negative integers")
        try assertRejects(withHeader("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }"), "True or False")
        try assertRejects(withHeader("['descr']"), "not a Python dict")
        try assertRejects(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }"), "absurdly large")
        XCTAssertThrowsError(try NPY.read(directory + "/none.npy")) { XCTAssertTrue("\($0)".contains("No such file"), "\($0)") }
    }
}
