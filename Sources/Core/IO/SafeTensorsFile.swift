/// A safetensors file read into memory and fully validated:
/// - the file holds at least the 8-byte length prefix, and the header length is ≤ 100 MB and fits
///   in the file — checked before the header is read;
/// - the header is strict JSON (duplicate names are an error) and every tensor entry has exactly
///   a known dtype, a shape of non-negative integers and two ordered data offsets;
/// - shape × item size equals each entry's byte span, and the spans tile the data section exactly
///   (no overlap, no gap, nothing missing, nothing trailing) — checked before the data is read.
/// Every error names the file, the tensor if there is one, and what to do.
public struct SafeTensorsFile {
    public let path: String
    public let metadata: [String: String]
    /// The tensors in data-section order.
    public let entries: [SafeTensorsEntry]
    private let index: [String: Int]
    private let data: [UInt8]

    /// Reads and validates `path`.
    public static func read(_ path: String) throws -> SafeTensorsFile {
        let file = try FileReader(path: path)
        let headerLength = try checkedHeaderLength(path: path, fileSize: file.size) {
            try file.read(count: 8, at: 0)
        }
        let header = try file.read(count: headerLength, at: 8)
        let dataLength = file.size - 8 - headerLength
        let (entries, metadata) = try parseHeader(path: path, json: header, dataLength: dataLength)
        let data = try file.read(count: dataLength, at: 8 + headerLength)
        return SafeTensorsFile(path: path, metadata: metadata, entries: entries, data: data)
    }

    /// Validates a whole file given as bytes (`path` is used only in error messages).
    public init(bytes: [UInt8], path: String = "<memory>") throws {
        let headerLength = try Self.checkedHeaderLength(path: path, fileSize: bytes.count) { Array(bytes.prefix(8)) }
        let (entries, metadata) = try Self.parseHeader(path: path, json: Array(bytes[8..<8 + headerLength]),
                                                       dataLength: bytes.count - 8 - headerLength)
        self.init(path: path, metadata: metadata, entries: entries, data: Array(bytes[(8 + headerLength)...]))
    }

    private init(path: String, metadata: [String: String], entries: [SafeTensorsEntry], data: [UInt8]) {
        self.path = path
        self.metadata = metadata
        self.entries = entries
        self.data = data
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    public func entry(named name: String) -> SafeTensorsEntry? { index[name].map { entries[$0] } }

    public var names: [String] { entries.map(\.name) }

    /// The raw little-endian bytes of one tensor.
    public func bytes(of name: String) throws -> ArraySlice<UInt8> {
        data[try require(name, dtype: nil).byteRange]
    }

    public func floats(_ name: String) throws -> [Float] {
        let e = try require(name, dtype: .f32)
        return [Float](unsafeUninitializedCapacity: e.elementCount) { buf, n in
            copy(e, into: UnsafeMutableRawPointer(buf.baseAddress), byteCount: e.byteRange.count)
            n = e.elementCount
        }
    }

    public func int64s(_ name: String) throws -> [Int64] {
        let e = try require(name, dtype: .i64)
        return [Int64](unsafeUninitializedCapacity: e.elementCount) { buf, n in
            copy(e, into: UnsafeMutableRawPointer(buf.baseAddress), byteCount: e.byteRange.count)
            n = e.elementCount
        }
    }

    /// Copies an F32 tensor of exactly `count` elements to `destination`.
    public func copyFloats(_ name: String, to destination: UnsafeMutablePointer<Float>, count: Int) throws {
        let e = try require(name, dtype: .f32)
        guard e.elementCount == count else {
            throw FileError(path: path, item: name, problem: "has \(e.elementCount) elements, expected \(count)",
                            advice: "The file was written for a different model configuration")
        }
        copy(e, into: UnsafeMutableRawPointer(destination), byteCount: e.byteRange.count)
    }

    private func copy(_ e: SafeTensorsEntry, into destination: UnsafeMutableRawPointer?, byteCount: Int) {
        guard byteCount > 0, let destination else { return }
        data.withUnsafeBytes { src in
            // memcpy: the data section need not be aligned for the element type.
            destination.copyMemory(from: src.baseAddress! + e.byteRange.lowerBound, byteCount: byteCount)
        }
    }

    private func require(_ name: String, dtype: SafeTensorsDType?) throws -> SafeTensorsEntry {
        guard let e = entry(named: name) else {
            throw FileError(path: path, item: name, problem: "no such tensor",
                            advice: "The file holds: \(names.prefix(8).joined(separator: ", "))\(names.count > 8 ? ", …" : "")")
        }
        if let dtype, e.dtype != dtype {
            throw FileError(path: path, item: name, problem: "has dtype \(e.dtype.rawValue), expected \(dtype.rawValue)",
                            advice: "The file was written by a different program or version; convert the tensor to \(dtype.rawValue)")
        }
        return e
    }
}

// MARK: - Validation

extension SafeTensorsFile {
    /// The header length N from the first 8 bytes, checked against the file size and the 100 MB
    /// bound before anything is allocated from it.
    static func checkedHeaderLength(path: String, fileSize: Int, prefix: () throws -> [UInt8]) throws -> Int {
        guard fileSize >= 8 else {
            throw FileError(path: path, problem: fileSize == 0 ? "file is empty"
                                : "file is \(fileSize) bytes, too short for a safetensors file (8-byte header length first)",
                            advice: FileError.corrupt)
        }
        let bytes = try prefix()
        var n: UInt64 = 0
        for i in (0..<8).reversed() { n = n << 8 | UInt64(bytes[i]) }
        guard n <= UInt64(SafeTensors.maxHeaderLength) else {
            throw FileError(path: path, problem: "header length field says \(n) bytes, over the \(SafeTensors.maxHeaderLength)-byte limit",
                            advice: "This is not a safetensors file, or its first 8 bytes are corrupt. " + FileError.corrupt)
        }
        guard Int(n) <= fileSize - 8 else {
            throw FileError(path: path, problem: "header length field says \(n) bytes but only \(fileSize - 8) bytes follow it",
                            advice: FileError.corrupt)
        }
        return Int(n)
    }

    static func parseHeader(path: String, json: [UInt8], dataLength: Int) throws
        -> ([SafeTensorsEntry], [String: String]) {
        func fail(_ item: String?, _ problem: String) -> FileError {
            FileError(path: path, item: item, problem: problem, advice: FileError.corrupt)
        }
        let root: JSONValue
        do {
            root = try JSONValue.parse(json)
        } catch let e as JSONParseError {
            throw fail(nil, "header is not valid JSON (\(e.message) at header byte \(e.offset))")
        }
        guard case .object(let members) = root else { throw fail(nil, "header is not a JSON object") }

        var metadata: [String: String] = [:]
        var entries: [SafeTensorsEntry] = []
        for (name, value) in members {
            if name == SafeTensors.metadataKey {
                guard case .object(let pairs) = value else { throw fail(name, "metadata is not an object") }
                for (k, v) in pairs {
                    guard case .string(let s) = v else { throw fail(name, "metadata value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            entries.append(try parseEntry(path: path, name: name, value: value))
        }

        // The spans must tile [0, dataLength) exactly. Sorting by (begin, end) keeps zero-size
        // tensors (begin == end) valid wherever they sit.
        entries.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        var expected = 0
        var previous: String?
        for e in entries {
            if e.byteRange.lowerBound < expected {
                throw fail(e.name, "data_offsets \(e.byteRange.lowerBound)..<\(e.byteRange.upperBound) overlap tensor '\(previous ?? "")'")
            }
            if e.byteRange.lowerBound > expected {
                throw fail(e.name, "data_offsets start at \(e.byteRange.lowerBound), leaving a gap after byte \(expected) of the data section")
            }
            expected = e.byteRange.upperBound
            previous = e.name
        }
        if expected > dataLength {
            let culprit = entries.first { $0.byteRange.upperBound > dataLength }?.name
            throw fail(culprit, "the header's tensors need \(expected) data bytes but the file has only \(dataLength) after the header (the file is truncated)")
        }
        if expected < dataLength {
            throw fail(nil, "the file has \(dataLength) data bytes but the header's tensors cover only \(expected)")
        }
        return (entries, metadata)
    }

    private static func parseEntry(path: String, name: String, value: JSONValue) throws -> SafeTensorsEntry {
        func fail(_ item: String?, _ problem: String) -> FileError {
            FileError(path: path, item: item, problem: problem, advice: FileError.corrupt)
        }
        guard case .object(let fields) = value else { throw fail(name, "entry is not a JSON object") }
        for (key, _) in fields where !["dtype", "shape", "data_offsets"].contains(key) {
            throw fail(name, "unknown field '\(key)' in the entry")
        }
        guard case .string(let dtypeName)? = value["dtype"] else { throw fail(name, "missing or non-string 'dtype'") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw FileError(path: path, item: name, problem: "unknown dtype '\(dtypeName)'",
                            advice: "Supported: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")); convert the tensor")
        }
        func integers(_ key: String) throws -> [Int] {
            guard case .array(let items)? = value[key] else { throw fail(name, "missing or non-array '\(key)'") }
            return try items.map { item in
                guard case .int(let i) = item, i >= 0 else { throw fail(name, "'\(key)' holds \(item.brief), not a non-negative integer") }
                return i
            }
        }
        let shape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2, offsets[0] <= offsets[1] else {
            throw fail(name, "data_offsets \(offsets) is not [begin, end] with begin ≤ end")
        }
        var bytes = dtype.itemSize
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail(name, "shape \(shape) is absurdly large") }
            bytes = product
        }
        guard bytes == offsets[1] - offsets[0] else {
            throw fail(name, "shape \(shape) of \(dtypeName) needs \(bytes) bytes but data_offsets span \(offsets[1] - offsets[0])")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
    }
}
