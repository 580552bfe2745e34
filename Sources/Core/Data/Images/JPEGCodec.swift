import CJPEG
#if canImport(Glibc)
import Glibc
#endif

/// JPEG decode (and encode, for tests and debugging) through libjpeg(-turbo), with fatal errors
/// and corrupt-data warnings turned into Swift errors (see `LibjpegGuard`).
public enum JPEGCodec {
    /// Decodes a baseline or progressive JPEG to 8-bit RGB or grey.
    /// - Parameters:
    ///   - channels: 1 or 3; nil keeps the file's kind (greyscale JPEGs stay grey, others RGB).
    ///   - source: named in errors (usually the file path).
    public static func decode(_ data: [UInt8], channels: Int? = nil, source: String = "<memory>") throws -> PixelImage {
        guard data.count >= 3, data[0] == 0xFF, data[1] == 0xD8, data[2] == 0xFF else {
            throw ImageCodecError(source: source, reason: "not a JPEG file (no SOI marker); expected a JPEG image")
        }
        let job = UnsafeMutablePointer<DecodeJob>.allocate(capacity: 1)
        job.initialize(to: DecodeJob())
        defer { job.deinitialize(count: 1); job.deallocate() }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: data.count)
        defer { input.deallocate() }
        input.initialize(from: data, count: data.count)
        job.pointee.input = input
        job.pointee.inputCount = data.count
        job.pointee.wantColour = channels.map { $0 == 3 }

        guard LibjpegGuard.run(decodeBody, context: UnsafeMutableRawPointer(job)) else {
            throw ImageCodecError(source: source, reason: "could not start the JPEG decoding thread")
        }
        // The codec object may be left mid-decode by error_exit; destroying it frees its memory.
        if job.pointee.created { jpeg_destroy_decompress(&job.pointee.cinfo) }
        defer { free(job.pointee.output) }
        let status = job.pointee.status
        if status.failed { throw ImageCodecError(source: source, reason: "corrupt JPEG: \(status.messageText)") }
        if status.warnings > 0 {
            throw ImageCodecError(source: source, reason: "corrupt JPEG data (\(status.warnings) warning(s)), first: \(status.messageText)")
        }
        guard let output = job.pointee.output else {
            throw ImageCodecError(source: source, reason: "JPEG decoder produced no pixels")
        }
        let count = job.pointee.width * job.pointee.height * job.pointee.components
        let decoded = PixelImage(width: job.pointee.width, height: job.pointee.height, channels: job.pointee.components,
                                 pixels: Array(UnsafeBufferPointer(start: output, count: count)))
        return decoded.converted(toChannels: channels ?? decoded.channels)
    }

    public static func read(_ path: String, channels: Int? = nil) throws -> PixelImage {
        try decode(ImageFileIO.read(path), channels: channels, source: path)
    }

    /// Encodes an 8-bit grey or RGB image as a baseline JPEG of the given quality (1–100).
    public static func encode(_ picture: PixelImage, quality: Int = 90, source: String = "<memory>") throws -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageCodecError(source: source, reason: "JPEG quality \(quality) is outside 1...100")
        }
        let job = UnsafeMutablePointer<EncodeJob>.allocate(capacity: 1)
        job.initialize(to: EncodeJob())
        defer { job.deinitialize(count: 1); job.deallocate() }
        let pixels = UnsafeMutablePointer<UInt8>.allocate(capacity: picture.pixels.count)
        defer { pixels.deallocate() }
        pixels.initialize(from: picture.pixels, count: picture.pixels.count)
        job.pointee.pixels = pixels
        job.pointee.width = picture.width
        job.pointee.height = picture.height
        job.pointee.components = picture.channels
        job.pointee.quality = Int32(quality)

        guard LibjpegGuard.run(encodeBody, context: UnsafeMutableRawPointer(job)) else {
            throw ImageCodecError(source: source, reason: "could not start the JPEG encoding thread")
        }
        if job.pointee.created { jpeg_destroy_compress(&job.pointee.cinfo) }
        defer { free(job.pointee.output) }
        if job.pointee.status.failed {
            throw ImageCodecError(source: source, reason: "JPEG encoding failed: \(job.pointee.status.messageText)")
        }
        guard let output = job.pointee.output, job.pointee.outputCount > 0 else {
            throw ImageCodecError(source: source, reason: "JPEG encoder produced no bytes")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(job.pointee.outputCount)))
    }
}

/// Everything the decoding thread touches, in one raw allocation owned by the caller.
private struct DecodeJob {
    var cinfo = jpeg_decompress_struct()
    var errorManager = jpeg_error_mgr()
    var status = LibjpegStatus()
    var created = false
    var input: UnsafeMutablePointer<UInt8>? = nil
    var inputCount = 0
    var wantColour: Bool? = nil
    var output: UnsafeMutablePointer<UInt8>? = nil   // malloc'ed, freed by the caller
    var width = 0, height = 0, components = 0
}

private struct EncodeJob {
    var cinfo = jpeg_compress_struct()
    var errorManager = jpeg_error_mgr()
    var status = LibjpegStatus()
    var created = false
    var pixels: UnsafeMutablePointer<UInt8>? = nil
    var width = 0, height = 0, components = 0
    var quality: Int32 = 90
    var output: UnsafeMutablePointer<UInt8>? = nil   // malloc'ed by libjpeg's memory destination
    var outputCount: UInt = 0
}

/// Runs on the guard thread. Raw pointers only (see LibjpegGuard).
private let decodeBody: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { raw in
    let job = raw!.assumingMemoryBound(to: DecodeJob.self)
    let cinfo = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<DecodeJob>.offset(of: \DecodeJob.cinfo)!)
        .assumingMemoryBound(to: jpeg_decompress_struct.self)
    let manager = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<DecodeJob>.offset(of: \DecodeJob.errorManager)!)
        .assumingMemoryBound(to: jpeg_error_mgr.self)
    let status = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<DecodeJob>.offset(of: \DecodeJob.status)!)
    cinfo.pointee.err = LibjpegGuard.install(manager)
    jpeg_CreateDecompress(cinfo, JPEG_LIB_VERSION, MemoryLayout<jpeg_decompress_struct>.size)
    cinfo.pointee.client_data = status
    job.pointee.created = true
    jpeg_mem_src(cinfo, job.pointee.input, UInt(job.pointee.inputCount))
    _ = jpeg_read_header(cinfo, 1)
    let fileIsGrey = cinfo.pointee.jpeg_color_space == JCS_GRAYSCALE
    let colour = job.pointee.wantColour ?? !fileIsGrey
    cinfo.pointee.out_color_space = colour || !fileIsGrey ? JCS_RGB : JCS_GRAYSCALE
    _ = jpeg_start_decompress(cinfo)
    let width = Int(cinfo.pointee.output_width), height = Int(cinfo.pointee.output_height)
    let components = Int(cinfo.pointee.output_components)
    let rowBytes = width * components
    guard let output = malloc(rowBytes * height)?.assumingMemoryBound(to: UInt8.self) else { return nil }
    job.pointee.output = output
    job.pointee.width = width; job.pointee.height = height; job.pointee.components = components
    while cinfo.pointee.output_scanline < cinfo.pointee.output_height {
        var row: JSAMPROW? = output + Int(cinfo.pointee.output_scanline) * rowBytes
        _ = jpeg_read_scanlines(cinfo, &row, 1)
    }
    _ = jpeg_finish_decompress(cinfo)
    return nil
}

private let encodeBody: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { raw in
    let job = raw!.assumingMemoryBound(to: EncodeJob.self)
    let cinfo = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<EncodeJob>.offset(of: \EncodeJob.cinfo)!)
        .assumingMemoryBound(to: jpeg_compress_struct.self)
    let manager = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<EncodeJob>.offset(of: \EncodeJob.errorManager)!)
        .assumingMemoryBound(to: jpeg_error_mgr.self)
    let status = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<EncodeJob>.offset(of: \EncodeJob.status)!)
    let output = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<EncodeJob>.offset(of: \EncodeJob.output)!)
        .assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
    let outputCount = UnsafeMutableRawPointer(job).advanced(by: MemoryLayout<EncodeJob>.offset(of: \EncodeJob.outputCount)!)
        .assumingMemoryBound(to: UInt.self)
    cinfo.pointee.err = LibjpegGuard.install(manager)
    jpeg_CreateCompress(cinfo, JPEG_LIB_VERSION, MemoryLayout<jpeg_compress_struct>.size)
    cinfo.pointee.client_data = status
    job.pointee.created = true
    jpeg_mem_dest(cinfo, output, outputCount)
    cinfo.pointee.image_width = JDIMENSION(job.pointee.width)
    cinfo.pointee.image_height = JDIMENSION(job.pointee.height)
    cinfo.pointee.input_components = Int32(job.pointee.components)
    cinfo.pointee.in_color_space = job.pointee.components == 3 ? JCS_RGB : JCS_GRAYSCALE
    jpeg_set_defaults(cinfo)
    jpeg_set_quality(cinfo, job.pointee.quality, 1)
    jpeg_start_compress(cinfo, 1)
    let rowBytes = job.pointee.width * job.pointee.components
    while cinfo.pointee.next_scanline < cinfo.pointee.image_height {
        var row: JSAMPROW? = job.pointee.pixels! + Int(cinfo.pointee.next_scanline) * rowBytes
        _ = jpeg_write_scanlines(cinfo, &row, 1)
    }
    jpeg_finish_compress(cinfo)
    return nil
}
