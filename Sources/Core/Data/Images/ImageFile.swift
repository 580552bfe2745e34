/// Reads PNG or JPEG files, choosing the codec from the file's magic bytes (not its extension, so
/// a mislabelled file still decodes or fails with a clear message).
public enum ImageFile {
    public static func read(_ path: String, channels: Int? = nil) throws -> PixelImage {
        let bytes = try ImageFileIO.read(path)
        return try decode(bytes, channels: channels, source: path)
    }

    public static func decode(_ bytes: [UInt8], channels: Int? = nil, source: String) throws -> PixelImage {
        if bytes.starts(with: PNGCodec.signature) { return try PNGCodec.decode(bytes, channels: channels, source: source) }
        if bytes.starts(with: [0xFF, 0xD8]) { return try JPEGCodec.decode(bytes, channels: channels, source: source) }
        if bytes.isEmpty { throw ImageCodecError(source: source, reason: "empty file; expected a PNG or JPEG image") }
        throw ImageCodecError(source: source, reason: "neither PNG nor JPEG (first bytes \(bytes.prefix(4).map { hexByte($0) }.joined(separator: " "))); only PNG and JPEG frames are supported")
    }

    /// Whether a path names a frame file the ingest understands.
    public static func isSupportedExtension(_ ext: String) -> Bool {
        ["png", "jpg", "jpeg"].contains(ext.lowercased())
    }
}

/// "0x1f".
private func hexByte(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
}
