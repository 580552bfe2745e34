import CPNG

/// PNG decode/encode through libpng's simplified `png_image` API, which reports failures through
/// `png_image.message` and a zero return instead of longjmp, so it is safe to call from Swift.
public enum PNGCodec {
    /// The 8-byte PNG signature.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes any PNG libpng reads (grey, grey+alpha, RGB, RGBA, palette, 1–16 bit) to 8-bit RGB
    /// or grey. Alpha is dropped, keeping the stored colour (as Pillow's `convert('RGB')` does).
    /// 16-bit files without colour-space chunks are taken as sRGB-encoded, like other tools do,
    /// rather than libpng's default of linear.
    /// - Parameters:
    ///   - channels: 1 or 3; nil keeps the file's own kind (grey files stay grey, others become RGB).
    ///   - source: named in errors (usually the file path).
    public static func decode(_ data: [UInt8], channels: Int? = nil, source: String = "<memory>") throws -> PixelImage {
        guard data.count >= 8, Array(data[0..<8]) == signature else {
            throw ImageCodecError(source: source, reason: "not a PNG file (bad signature); expected a PNG image")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let began = data.withUnsafeBytes { raw in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard began != 0 else { throw ImageCodecError(source: source, reason: "corrupt PNG: \(message(of: &image))") }
        defer { png_image_free(&image) }

        let fileIsColour = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
        let hasAlpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
        let decodeColour = fileIsColour || (channels ?? 1) == 3
        image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
        // Read alpha too (then drop it) so libpng does not composite onto a background.
        var format = decodeColour ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        if hasAlpha { format |= UInt32(PNG_FORMAT_FLAG_ALPHA) }
        image.format = format
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0 else { throw ImageCodecError(source: source, reason: "PNG has zero size") }
        guard width <= 1 << 15, height <= 1 << 15 else {
            throw ImageCodecError(source: source, reason: "PNG of \(width)×\(height) is larger than 32768 px per side")
        }
        let stored = (decodeColour ? 3 : 1) + (hasAlpha ? 1 : 0)
        var buffer = [UInt8](repeating: 0, count: width * height * stored)
        let finished = buffer.withUnsafeMutableBytes { raw in
            png_image_finish_read(&image, nil, raw.baseAddress, 0, nil)
        }
        guard finished != 0 else { throw ImageCodecError(source: source, reason: "corrupt PNG: \(message(of: &image))") }

        let kept = decodeColour ? 3 : 1
        if hasAlpha {
            var packed = [UInt8](repeating: 0, count: width * height * kept)
            for i in 0..<(width * height) { for c in 0..<kept { packed[i * kept + c] = buffer[i * stored + c] } }
            buffer = packed
        }
        let decoded = PixelImage(width: width, height: height, channels: kept, pixels: buffer)
        return decoded.converted(toChannels: channels ?? kept)
    }

    /// Encodes an 8-bit grey or RGB image as PNG bytes.
    public static func encode(_ picture: PixelImage, source: String = "<memory>") throws -> [UInt8] {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(picture.width)
        image.height = UInt32(picture.height)
        image.format = picture.channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
        var size = 0
        let sized = picture.pixels.withUnsafeBytes { raw in
            png_image_write_to_memory(&image, nil, &size, 0, raw.baseAddress, 0, nil)
        }
        guard sized != 0, size > 0 else {
            throw ImageCodecError(source: source, reason: "PNG encoding failed: \(message(of: &image))")
        }
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBytes { dst in
            picture.pixels.withUnsafeBytes { raw in
                png_image_write_to_memory(&image, dst.baseAddress, &size, 0, raw.baseAddress, 0, nil)
            }
        }
        guard written != 0 else { throw ImageCodecError(source: source, reason: "PNG encoding failed: \(message(of: &image))") }
        return Array(out[0..<size])
    }

    /// Writes a PNG file atomically (temporary file, fsync, rename).
    public static func write(_ picture: PixelImage, to path: String) throws {
        let bytes = try encode(picture, source: path)
        try ImageFileIO.write(bytes, to: path)
    }

    public static func read(_ path: String, channels: Int? = nil) throws -> PixelImage {
        try decode(ImageFileIO.read(path), channels: channels, source: path)
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let chars = raw.bindMemory(to: CChar.self)
            let end = chars.firstIndex(of: 0) ?? chars.count
            let text = String(decoding: raw.prefix(end), as: UTF8.self)
            return text.isEmpty ? "libpng gave no message" : text
        }
    }
}
