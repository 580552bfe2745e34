import CJPEG

/// JPEG decode (and encode, for tests and debugging) through libjpeg-turbo's TurboJPEG API, whose
/// calls return −1 with a message instead of calling libjpeg's non-returning `error_exit`.
/// Corrupt-data warnings (truncated files, bad Huffman codes), which libjpeg would paper over with
/// grey blocks, stop the decode (`TJFLAG_STOPONWARNING`) and become errors.
public enum JPEGCodec {
    /// Decodes a baseline or progressive JPEG to 8-bit RGB or grey.
    /// - Parameters:
    ///   - channels: 1 or 3; nil keeps the file's kind (greyscale JPEGs stay grey, others RGB).
    ///   - source: named in errors (usually the file path).
    public static func decode(_ data: [UInt8], channels: Int? = nil, source: String = "<memory>") throws -> PixelImage {
        guard data.count >= 3, data[0] == 0xFF, data[1] == 0xD8, data[2] == 0xFF else {
            throw ImageCodecError(source: source, reason: "not a JPEG file (no SOI marker); expected a JPEG image")
        }
        guard let handle = tjInitDecompress() else {
            throw ImageCodecError(source: source, reason: "cannot start the JPEG decoder: \(String(cString: tjGetErrorStr2(nil)))")
        }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourspace: Int32 = 0
        guard tjDecompressHeader3(handle, data, UInt(data.count), &width, &height, &subsampling, &colourspace) == 0 else {
            throw ImageCodecError(source: source, reason: "corrupt JPEG: \(errorText(handle))")
        }
        let fileIsGrey = colourspace == Int32(TJCS_GRAY.rawValue)
        let components = fileIsGrey && !(channels.map { $0 == 3 } ?? false) ? 1 : 3
        let format = components == 1 ? TJPF_GRAY : TJPF_RGB
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * components)
        let status = tjDecompress2(handle, data, UInt(data.count), &pixels, width, 0, height,
                                   Int32(format.rawValue), TJFLAG_STOPONWARNING)
        guard status == 0 else {
            throw ImageCodecError(source: source, reason: "corrupt JPEG: \(errorText(handle))")
        }
        let decoded = PixelImage(width: Int(width), height: Int(height), channels: components, pixels: pixels)
        return decoded.converted(toChannels: channels ?? decoded.channels)
    }

    public static func read(_ path: String, channels: Int? = nil) throws -> PixelImage {
        try decode(ImageFileIO.read(path), channels: channels, source: path)
    }

    /// Encodes an 8-bit grey or RGB image as a baseline JPEG of the given quality (1–100), with
    /// libjpeg's default 4:2:0 chroma subsampling for RGB.
    public static func encode(_ picture: PixelImage, quality: Int = 90, source: String = "<memory>") throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageCodecError(source: source, reason: "JPEG quality \(quality) is outside 1...100")
        }
        guard picture.channels == 1 || picture.channels == 3 else {
            throw ImageCodecError(source: source, reason: "JPEG holds grey or RGB images, not \(picture.channels) channels")
        }
        guard let handle = tjInitCompress() else {
            throw ImageCodecError(source: source, reason: "cannot start the JPEG encoder: \(String(cString: tjGetErrorStr2(nil)))")
        }
        defer { tjDestroy(handle) }
        let grey = picture.channels == 1
        var output: UnsafeMutablePointer<UInt8>? = nil   // allocated by TurboJPEG, freed with tjFree
        var outputCount: UInt = 0
        defer { tjFree(output) }
        let status = tjCompress2(handle, picture.pixels, Int32(picture.width), 0, Int32(picture.height),
                                 Int32((grey ? TJPF_GRAY : TJPF_RGB).rawValue), &output, &outputCount,
                                 Int32((grey ? TJSAMP_GRAY : TJSAMP_420).rawValue), Int32(quality), 0)
        guard status == 0, let output, outputCount > 0 else {
            throw ImageCodecError(source: source, reason: "JPEG encoding failed: \(errorText(handle))")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(outputCount)))
    }

    /// TurboJPEG's message for the last failure on `handle` (libjpeg's own text, e.g. "Premature end of JPEG file").
    private static func errorText(_ handle: tjhandle) -> String {
        String(cString: tjGetErrorStr2(handle))
    }
}
