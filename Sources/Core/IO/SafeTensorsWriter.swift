/// Builds a safetensors file in memory (tensors are copied in as they are added, so callers may
/// reuse their buffers at once) and writes it atomically.
///
///     var w = SafeTensorsWriter(metadata: ["epoch": "3"])
///     w.add("encoder.0.weight", shape: [16, 3, 12, 12], floats: pointer)
///     try w.write(to: "model.safetensors")
public struct SafeTensorsWriter {
    public var metadata: [String: String]
    public private(set) var entries: [SafeTensorsEntry] = []
    private var payload: [UInt8] = []
    private var names = Set<String>()

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds a tensor from raw little-endian bytes of `dtype`; `bytes.count` must equal the shape's
    /// element count times the item size. Names must be unique and not "__metadata__".
    public mutating func add(_ name: String, dtype: SafeTensorsDType, shape: [Int], bytes: UnsafeRawBufferPointer) {
        precondition(name != SafeTensors.metadataKey, "'\(SafeTensors.metadataKey)' is reserved in safetensors")
        precondition(names.insert(name).inserted, "tensor '\(name)' added twice")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape) for '\(name)'")
        precondition(shape.reduce(1, *) * dtype.itemSize == bytes.count,
                     "'\(name)': \(bytes.count) bytes for shape \(shape) of \(dtype.rawValue)")
        let begin = payload.count
        payload.append(contentsOf: bytes)
        entries.append(SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: begin..<payload.count))
    }

    public mutating func add(_ name: String, shape: [Int], floats: UnsafePointer<Float>) {
        add(name, dtype: .f32, shape: shape,
            bytes: UnsafeRawBufferPointer(start: floats, count: shape.reduce(1, *) * MemoryLayout<Float>.size))
    }

    public mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        floats.withUnsafeBytes { add(name, dtype: .f32, shape: shape, bytes: $0) }
    }

    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
        int64s.withUnsafeBytes { add(name, dtype: .i64, shape: shape, bytes: $0) }
    }

    public mutating func add(_ name: String, shape: [Int], int32s: [Int32]) {
        int32s.withUnsafeBytes { add(name, dtype: .i32, shape: shape, bytes: $0) }
    }

    public mutating func add(_ name: String, shape: [Int], uint64s: [UInt64]) {
        uint64s.withUnsafeBytes { add(name, dtype: .u64, shape: shape, bytes: $0) }
    }

    public mutating func add(_ name: String, shape: [Int], uint8s: [UInt8]) {
        uint8s.withUnsafeBytes { add(name, dtype: .u8, shape: shape, bytes: $0) }
    }

    /// The 8-byte length prefix plus the JSON header, space-padded so the data section starts at
    /// a multiple of 8. Keys are sorted (`JSONCoding`) so equal content gives equal bytes.
    public func headerBytes() throws -> [UInt8] {
        var json = try JSONCoding.encode(Header(metadata: metadata, entries: entries))
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        return out
    }

    /// The whole file as bytes (tests; prefer `write(to:)` for real files).
    public func fileBytes() throws -> [UInt8] { try headerBytes() + payload }

    /// Writes the file atomically (temporary file, fsync, rename, directory fsync).
    public func write(to path: String) throws {
        let header = try headerBytes()
        try AtomicFile.write(to: path) { file in
            try file.write(header)
            try file.write(payload)
        }
    }
}

/// The header object safetensors defines: "__metadata__" (string to string, left out when empty)
/// and one {dtype, shape, data_offsets} member per tensor, keyed by its name.
private struct Header: Encodable {
    let metadata: [String: String]
    let entries: [SafeTensorsEntry]

    private struct Entry: Encodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: Swift.Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        if !metadata.isEmpty { try c.encode(metadata, forKey: Key(stringValue: SafeTensors.metadataKey)) }
        for e in entries {
            try c.encode(Entry(dtype: e.dtype.rawValue, shape: e.shape, data_offsets: [e.byteRange.lowerBound, e.byteRange.upperBound]),
                         forKey: Key(stringValue: e.name))
        }
    }
}
