/// NumPy's .npy format (https://numpy.org/devdocs/reference/generated/numpy.lib.format.html):
///
///   "\x93NUMPY", major, minor, header length (UInt16 LE in v1.0, UInt32 LE in v2.0/3.0),
///   an ASCII Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
///   padded with spaces and ending in '\n' so the data starts at a multiple of 64, then the data.
///
/// Supported element types: float32 ('<f4') and uint8 ('|u1'), C order, any rank. The writer
/// uses v1.0 (v2.0 only if the header would not fit in 65 535 bytes, which takes a rank in the
/// thousands); the reader accepts v1.0, v2.0 and v3.0 and checks the magic, the version, the
/// header dict and that the shape accounts for exactly the bytes in the file.
public struct NPYArray: Equatable {
    public enum Storage: Equatable {
        case float32([Float])
        case uint8([UInt8])
    }

    public let shape: [Int]
    public let storage: Storage

    public init(shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count, "\(floats.count) values for shape \(shape)")
        self.shape = shape
        storage = .float32(floats)
    }

    public init(shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) == bytes.count, "\(bytes.count) values for shape \(shape)")
        self.shape = shape
        storage = .uint8(bytes)
    }

    public var elementCount: Int { shape.reduce(1, *) }

    public var floats: [Float]? { if case .float32(let v) = storage { return v }; return nil }
    public var bytes: [UInt8]? { if case .uint8(let v) = storage { return v }; return nil }
}

public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// A header longer than this is refused before it is read (NumPy itself refuses > 10 000 by default).
    static let maxHeaderLength = 1 << 20

    // MARK: Writing

    public static func write(_ array: NPYArray, to path: String) throws {
        switch array.storage {
        case .float32(let v): try v.withUnsafeBytes { try write(descr: "<f4", shape: array.shape, data: $0, to: path) }
        case .uint8(let v): try v.withUnsafeBytes { try write(descr: "|u1", shape: array.shape, data: $0, to: path) }
        }
    }

    /// Writes `shape.product` Floats from `values` as '<f4' without copying them first.
    public static func write(floats values: UnsafePointer<Float>, shape: [Int], to path: String) throws {
        let count = shape.reduce(1, *)
        try write(descr: "<f4", shape: shape,
                  data: UnsafeRawBufferPointer(start: values, count: count * MemoryLayout<Float>.size), to: path)
    }

    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        let literal = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }".utf8)
        func padded(prefix: Int) -> [UInt8] {   // spaces, then '\n', so the data starts at a multiple of 64
            var d = literal
            while (prefix + d.count + 1) % 64 != 0 { d.append(0x20) }
            return d + [0x0A]
        }
        var dict = padded(prefix: 10)
        let v1 = dict.count <= Int(UInt16.max)
        if !v1 { dict = padded(prefix: 12) }
        var out = magic + (v1 ? [1, 0] : [2, 0])
        if v1 {
            withUnsafeBytes(of: UInt16(dict.count).littleEndian) { out.append(contentsOf: $0) }
        } else {
            withUnsafeBytes(of: UInt32(dict.count).littleEndian) { out.append(contentsOf: $0) }
        }
        return out + dict
    }

    static func write(descr: String, shape: [Int], data: UnsafeRawBufferPointer, to path: String) throws {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        let h = header(descr: descr, shape: shape)
        try AtomicFile.write(to: path) { file in
            try file.write(h)
            try file.write(data)
        }
    }

    // MARK: Reading

    public static func read(_ path: String) throws -> NPYArray {
        let file = try FileReader(path: path)
        func fail(_ problem: String, _ advice: String = FileError.corrupt) -> FileError {
            FileError(path: path, problem: problem, advice: advice)
        }
        guard file.size >= 10 else {
            throw fail(file.size == 0 ? "file is empty" : "file is \(file.size) bytes, too short for a .npy file")
        }
        let start = try file.read(count: 12 <= file.size ? 12 : 10, at: 0)
        guard Array(start[0..<6]) == magic else {
            throw fail("does not start with the .npy magic \\x93NUMPY", "Give a file written by numpy.save (not .npz, text or raw data)")
        }
        let (major, minor) = (start[6], start[7])
        let headerLength: Int, dataStart: Int
        switch (major, minor) {
        case (1, 0):
            headerLength = Int(start[8]) | Int(start[9]) << 8
            dataStart = 10 + headerLength
        case (2, 0), (3, 0):
            guard start.count == 12 else { throw fail("file is \(file.size) bytes, too short for a v\(major).0 .npy header") }
            headerLength = Int(start[8]) | Int(start[9]) << 8 | Int(start[10]) << 16 | Int(start[11]) << 24
            dataStart = 12 + headerLength
        default:
            throw fail("unsupported .npy version \(major).\(minor)", "Re-save the array with numpy.save (versions 1.0–3.0 are supported)")
        }
        guard headerLength <= maxHeaderLength, dataStart <= file.size else {
            throw fail("header length \(headerLength) does not fit in the \(file.size)-byte file")
        }
        let headerBytes = try file.read(count: headerLength, at: dataStart - headerLength)
        let (descr, fortran, shape) = try parseHeaderDict(headerBytes, path: path)
        guard !fortran else {
            throw fail("array is in Fortran order", "Save a C-ordered array: numpy.save(path, numpy.ascontiguousarray(a))")
        }
        let itemSize: Int
        switch descr {
        case "<f4": itemSize = 4
        case "|u1", "<u1", ">u1", "=u1": itemSize = 1
        default:
            throw fail("element type '\(descr)' is not supported",
                       "Convert the array: a.astype('<f4') for float32 or a.astype('uint8') for bytes")
        }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) is absurdly large") }
            count = p
        }
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow, dataBytes == file.size - dataStart else {
            throw fail("shape \(shape) of '\(descr)' needs \(dataBytes) data bytes but the file has \(file.size - dataStart)"
                       + (dataBytes > file.size - dataStart ? " (truncated)" : " (trailing bytes)"))
        }
        if itemSize == 4 {
            let v = try [Float](unsafeUninitializedCapacity: count) { buf, n in
                if count > 0 { try file.read(into: buf.baseAddress!, count: dataBytes, at: dataStart) }
                n = count
            }
            return NPYArray(shape: shape, floats: v)
        }
        return NPYArray(shape: shape, bytes: try file.read(count: dataBytes, at: dataStart))
    }

    /// Parses the restricted Python literal NumPy writes: a dict with exactly the keys 'descr'
    /// (a string), 'fortran_order' (True/False) and 'shape' (a tuple of non-negative ints).
    static func parseHeaderDict(_ bytes: [UInt8], path: String) throws -> (String, Bool, [Int]) {
        var s = Substring(String(decoding: bytes, as: UTF8.self))
        func fail(_ problem: String) -> FileError {
            FileError(path: path, item: "header", problem: problem, advice: FileError.corrupt)
        }
        func skipSpace() { s = s.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" } }
        func take(_ c: Character) -> Bool {
            skipSpace()
            if s.first == c { s = s.dropFirst(); return true }
            return false
        }
        func string() throws -> String {
            skipSpace()
            guard let q = s.first, q == "'" || q == "\"" else { throw fail("expected a quoted string in the header dict") }
            s = s.dropFirst()
            guard let end = s.firstIndex(of: q) else { throw fail("unterminated string in the header dict") }
            let value = String(s[..<end])
            s = s[s.index(after: end)...]
            return value
        }
        var descr: String?, fortran: Bool?, shape: [Int]?
        guard take("{") else { throw fail("header is not a Python dict literal") }
        while !take("}") {
            let key = try string()
            guard take(":") else { throw fail("expected ':' after '\(key)'") }
            skipSpace()
            switch key {
            case "descr" where descr == nil:
                descr = try string()
            case "fortran_order" where fortran == nil:
                if s.hasPrefix("True") { fortran = true; s = s.dropFirst(4) }
                else if s.hasPrefix("False") { fortran = false; s = s.dropFirst(5) }
                else { throw fail("'fortran_order' is not True or False") }
            case "shape" where shape == nil:
                guard take("(") else { throw fail("'shape' is not a tuple") }
                var dims: [Int] = []
                while !take(")") {
                    skipSpace()
                    let digits = s.prefix { $0.isASCII && $0.isNumber }
                    guard !digits.isEmpty, digits.count <= 18, let d = Int(digits) else {
                        throw fail("'shape' holds something other than non-negative integers")
                    }
                    dims.append(d)
                    s = s.dropFirst(digits.count)
                    if !take(",") {
                        guard take(")") else { throw fail("expected ',' or ')' in 'shape'") }
                        break
                    }
                }
                shape = dims
            default:
                throw fail("unexpected or repeated key '\(key)' in the header dict")
            }
            if !take(",") {
                guard take("}") else { throw fail("expected ',' or '}' in the header dict") }
                break
            }
        }
        skipSpace()
        guard s.isEmpty else { throw fail("unexpected text after the header dict") }
        guard let descr, let fortran, let shape else { throw fail("header dict lacks 'descr', 'fortran_order' or 'shape'") }
        return (descr, fortran, shape)
    }
}
