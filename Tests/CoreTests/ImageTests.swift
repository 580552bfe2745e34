import XCTest
import Foundation
@testable import Core

final class ImageTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "cpae-image-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// A deterministic picture with gradients and a hard edge, so codecs have real content.
    private func testPicture(width: Int = 37, height: Int = 23, channels: Int = 3) -> PixelImage {
        var image = PixelImage(width: width, height: height, channels: channels, fill: [UInt8](repeating: 0, count: channels))
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    image[y, x, c] = UInt8((x * 7 + y * 3 + c * 50 + (x > width / 2 ? 90 : 0)) % 256)
                }
            }
        }
        return image
    }

    func testPNGRoundTripRGBAndGrey() throws {
        for channels in [1, 3] {
            let picture = testPicture(channels: channels)
            let path = directory + "/p\(channels).png"
            try PNGCodec.write(picture, to: path)
            XCTAssertEqual(try PNGCodec.read(path), picture, "lossless round trip, \(channels) channel(s)")
            XCTAssertEqual(try ImageFile.read(path, channels: channels), picture)
        }
    }

    func testPNGChannelConversion() throws {
        let rgb = PixelImage(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 10, 20, 30])
        let bytes = try PNGCodec.encode(rgb)
        let grey = try PNGCodec.decode(bytes, channels: 1)
        XCTAssertEqual(grey.pixels, [76, 18])  // Pillow's L = (299 R + 587 G + 114 B) / 1000
        let back = try PNGCodec.decode(PNGCodec.encode(grey), channels: 3)
        XCTAssertEqual(back.pixels, [76, 76, 76, 18, 18, 18])
    }

    func testCorruptPNGNamesTheFile() throws {
        var bytes = try PNGCodec.encode(testPicture())
        bytes.removeLast(bytes.count / 2)          // truncated mid-IDAT
        let path = directory + "/broken.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        XCTAssertThrowsError(try PNGCodec.read(path)) { error in
            XCTAssertTrue("\(error)".contains(path), "error should name the file: \(error)")
        }
        let notPNG = directory + "/fake.png"
        _ = FileManager.default.createFile(atPath: notPNG, contents: Data("hello".utf8))
        XCTAssertThrowsError(try ImageFile.read(notPNG)) { error in
            XCTAssertTrue("\(error)".contains(notPNG), "\(error)")
        }
        XCTAssertThrowsError(try ImageFile.read(directory + "/missing.png")) { error in
            XCTAssertTrue("\(error)".contains("missing.png"), "\(error)")
        }
    }

    func testJPEGDecodeOfEncodedImage() throws {
        // Smooth content so a high-quality JPEG stays close to the original.
        var picture = PixelImage(width: 32, height: 24, channels: 3, fill: [0, 0, 0])
        for y in 0..<24 { for x in 0..<32 {
            picture[y, x, 0] = UInt8(x * 8); picture[y, x, 1] = UInt8(y * 10); picture[y, x, 2] = 128
        } }
        let bytes = try JPEGCodec.encode(picture, quality: 95)
        XCTAssertEqual(Array(bytes.prefix(2)), [0xFF, 0xD8])
        let path = directory + "/a.jpg"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let decoded = try ImageFile.read(path)
        XCTAssertEqual(decoded.width, 32); XCTAssertEqual(decoded.height, 24); XCTAssertEqual(decoded.channels, 3)
        var maxError = 0
        for i in 0..<picture.pixels.count { maxError = max(maxError, abs(Int(decoded.pixels[i]) - Int(picture.pixels[i]))) }
        XCTAssertLessThan(maxError, 12, "quality-95 JPEG of a smooth gradient decodes close to the original")
        XCTAssertGreaterThan(decoded.pixels.reduce(0) { $0 + Int($1) }, 0)

        let grey = try JPEGCodec.decode(JPEGCodec.encode(picture.converted(toChannels: 1), quality: 95))
        XCTAssertEqual(grey.channels, 1, "a greyscale JPEG stays grey")
    }

    func testCorruptJPEGNamesTheFileAndDoesNotExit() throws {
        let bytes = try JPEGCodec.encode(testPicture(width: 64, height: 64), quality: 90)
        let truncated = directory + "/truncated.jpg"
        _ = FileManager.default.createFile(atPath: truncated, contents: Data(bytes.prefix(bytes.count / 2)))
        XCTAssertThrowsError(try ImageFile.read(truncated)) { error in
            XCTAssertTrue("\(error)".contains(truncated), "\(error)")
            XCTAssertTrue("\(error)".lowercased().contains("corrupt"), "\(error)")
        }
        // A damaged header (SOF marker overwritten) makes libjpeg call error_exit.
        var header = bytes
        if let sof = (2..<header.count - 1).first(where: { header[$0] == 0xFF && header[$0 + 1] == 0xC0 }) {
            header[sof + 5] = 0; header[sof + 6] = 0   // image height 0 → "Empty JPEG image" / bogus size
            header[sof + 7] = 0; header[sof + 8] = 0
        }
        let damaged = directory + "/damaged.jpg"
        _ = FileManager.default.createFile(atPath: damaged, contents: Data(header))
        XCTAssertThrowsError(try ImageFile.read(damaged)) { error in
            XCTAssertTrue("\(error)".contains(damaged), "\(error)")
            XCTAssertTrue("\(error)".contains("Empty JPEG image"), "libjpeg error_exit message expected: \(error)")
        }
        // Still works afterwards: the failing thread was cleaned up.
        XCTAssertNoThrow(try JPEGCodec.decode(bytes))
    }

    func testResizeOfConstantImageStaysConstant() {
        let constant = PixelImage(width: 50, height: 30, channels: 3, fill: [215, 205, 192])
        for (w, h) in [(13, 7), (128, 128), (50, 60), (7, 45)] {
            for filter in ResizeFilter.allCases {
                let out = ImageResizer.resize(constant, width: w, height: h, filter: filter)
                XCTAssertEqual(out, PixelImage(width: w, height: h, channels: 3, fill: [215, 205, 192]),
                               "\(w)×\(h) \(filter)")
            }
        }
    }

    func testDownscaleAverages() {
        // 4×4 grey blocks of known values → 2×2 means; plus a fractional 3→2 case.
        var image = PixelImage(width: 4, height: 4, channels: 1, fill: [0])
        let values: [UInt8] = [0, 100, 40, 80]
        for y in 0..<4 { for x in 0..<4 { image[y, x, 0] = values[(y / 2) * 2 + x / 2] + UInt8((x + y) % 2 * 2) } }
        let out = ImageResizer.resize(image, width: 2, height: 2)
        XCTAssertEqual(out.pixels, [1, 101, 41, 81])

        let row = PixelImage(width: 3, height: 1, channels: 1, pixels: [0, 90, 180])
        let half = ImageResizer.resize(row, width: 2, height: 1)
        // Output 0 covers [0, 1.5): (0·1 + 90·0.5)/1.5 = 30; output 1 covers [1.5, 3): (90·0.5 + 180)/1.5 = 150.
        XCTAssertEqual(half.pixels, [30, 150])
    }

    func testUpscaleInterpolatesAndDownscaleIsAntiAliased() {
        // A one-pixel-wide stripe pattern shrunk 4× becomes its mean, not a random stripe.
        var stripes = PixelImage(width: 64, height: 8, channels: 1, fill: [0])
        for y in 0..<8 { for x in stride(from: 0, to: 64, by: 2) { stripes[y, x, 0] = 200 } }
        let small = ImageResizer.resize(stripes, width: 16, height: 2)
        XCTAssertTrue(small.pixels.allSatisfy { $0 == 100 }, "\(small.pixels)")
        // Enlarging an edge gives intermediate values.
        let edge = PixelImage(width: 2, height: 1, channels: 1, pixels: [0, 200])
        let big = ImageResizer.resize(edge, width: 8, height: 1, filter: .areaBilinear)
        XCTAssertEqual(big.pixels.first, 0); XCTAssertEqual(big.pixels.last, 200)
        XCTAssertTrue(big.pixels.contains { $0 > 20 && $0 < 180 })
        XCTAssertEqual(big.pixels, big.pixels.sorted(), "monotone across the edge")
    }

    func testFrameFoldersRoundTripAndLayoutErrors() throws {
        let gen = try PhysicalSystem.pendulum.generator(trajectories: 3, frames: 5, size: 32, channels: 3, seed: 3)
        let root = directory + "/folders"
        let writer = try FrameFolderWriter(directory: root, description: gen.description)
        var originals: [FrameSequence] = []
        try gen.generate(threads: 1) { originals.append($0); try writer.append($0) }
        try writer.finish(splits: gen.splits)
        XCTAssertEqual(try ReferenceSplitFile.read(root + "/data_split_dict.json", trajectoryCount: 3), gen.splits)

        let scanned = try FrameFolderDataset.scan(root: root)
        XCTAssertEqual(scanned.trajectoryCount, 3); XCTAssertEqual(scanned.framesPerTrajectory, 5)
        for id in 0..<3 {
            XCTAssertEqual(try scanned.load(id, size: 32, channels: 3).frames, originals[id].frames, "lossless at the same size")
        }
        let small = try scanned.load(1, size: 16, channels: 1)
        XCTAssertEqual(small.height, 16); XCTAssertEqual(small.channels, 1)
        XCTAssertThrowsError(try FrameFolderDataset.scan(root: root, framesPerTrajectory: 6)) { error in
            XCTAssertTrue("\(error)".contains(root + "/0"), "\(error)")
        }
        // A corrupt frame: loading names the file.
        let bad = root + "/0/3.png"
        _ = FileManager.default.createFile(atPath: bad, contents: Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]))
        let corrupted = try FrameFolderDataset.scan(root: root, framesPerTrajectory: 5)
        XCTAssertThrowsError(try corrupted.load(0, size: 32, channels: 3)) { error in
            XCTAssertTrue("\(error)".contains(bad), "\(error)")
        }
        // Unequal length: the folder is named.
        try FileManager.default.removeItem(atPath: root + "/2/4.png")
        XCTAssertThrowsError(try FrameFolderDataset.scan(root: root)) { error in
            XCTAssertTrue("\(error)".contains(root + "/2"), "\(error)")
            XCTAssertTrue("\(error)".contains("4 frames"), "\(error)")
        }
        // A gap in the frames, and a missing trajectory folder.
        try FileManager.default.removeItem(atPath: root + "/2/1.png")
        XCTAssertThrowsError(try FrameFolderDataset.scan(root: root)) { error in
            XCTAssertTrue("\(error)".contains("frame 1 is missing"), "\(error)")
        }
        try FileManager.default.removeItem(atPath: root + "/1")
        XCTAssertThrowsError(try FrameFolderDataset.scan(root: root)) { error in
            XCTAssertTrue("\(error)".contains("trajectory folder 1 is missing"), "\(error)")
        }
    }

    func testSplitFileValidation() throws {
        let path = directory + "/split.json"
        func write(_ text: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) }
        write(#"{"train": [0, 2], "val": [1], "test": [3]}"#)
        XCTAssertEqual(try ReferenceSplitFile.read(path, trajectoryCount: 4), DatasetSplits(train: [0, 2], validation: [1], test: [3]))
        write(#"{"train": [0, 2], "val": [2], "test": [3]}"#)
        XCTAssertThrowsError(try ReferenceSplitFile.read(path, trajectoryCount: 4)) { XCTAssertTrue("\($0)".contains("id 2 appears"), "\($0)") }
        write(#"{"train": [0, 9], "val": [1], "test": [3]}"#)
        XCTAssertThrowsError(try ReferenceSplitFile.read(path, trajectoryCount: 4)) { XCTAssertTrue("\($0)".contains("id 9"), "\($0)") }
        write(#"{"train": [0], "test": [3]}"#)
        XCTAssertThrowsError(try ReferenceSplitFile.read(path, trajectoryCount: 4)) { XCTAssertTrue("\($0)".contains("\"val\""), "\($0)") }
        write("not json")
        XCTAssertThrowsError(try ReferenceSplitFile.read(path, trajectoryCount: 4)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
    }

    /// PNGs of other kinds, written by tools/make_png_fixtures.py with Python's zlib (not libpng).
    private static let pngFixtures: [String: String] = [
        "palette": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAMAAABFaP0WAAAADFBMVEX/AAAA/wAAAP/////7AGD2AAAAA3RSTlP//wDXyg1BAAAADklEQVR4nGNgYGRgYgYAABEAB56iKhIAAAAASUVORK5CYII=",
        "rgba": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAAEUlEQVR4nGPgEpFjOJFi1AAABskCGzDccEoAAAAASUVORK5CYII=",
        "grey_alpha": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAQAAABeK7cBAAAADUlEQVR4nGPwZTj5HwADygIWGXp64gAAAABJRU5ErkJggg==",
        "rgb16": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABEAIAAAAr0DSeAAAAFUlEQVR4nGNgZGxo+P+fgcHG5sQJAByRBQl3d7vWAAAAAElFTkSuQmCC",
        "grey1": "iVBORw0KGgoAAAANSUhEUgAAAAgAAAABAQAAAADLe9LuAAAACklEQVR4nGPYBAAAtACzJBi3ogAAAABJRU5ErkJggg==",
    ]

    private func fixture(_ name: String) -> [UInt8] { Array(Data(base64Encoded: Self.pngFixtures[name]!)!) }

    func testPNGKindsDecodeToRGBOrGrey() throws {
        let palette = try PNGCodec.decode(fixture("palette"))
        XCTAssertEqual(palette.channels, 3)
        XCTAssertEqual(palette.pixels, [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255], "palette expanded, transparent entry keeps its colour")
        XCTAssertEqual(try PNGCodec.decode(fixture("rgba")).pixels, [10, 20, 30, 200, 100, 50], "alpha dropped, colours unchanged")
        let greyAlpha = try PNGCodec.decode(fixture("grey_alpha"))
        XCTAssertEqual(greyAlpha.channels, 1); XCTAssertEqual(greyAlpha.pixels, [77, 201])
        XCTAssertEqual(try PNGCodec.decode(fixture("grey_alpha"), channels: 3).pixels, [77, 77, 77, 201, 201, 201])
        XCTAssertEqual(try PNGCodec.decode(fixture("rgb16")).pixels, [1, 128, 255, 0, 60, 200], "16-bit taken as sRGB")
        XCTAssertEqual(try PNGCodec.decode(fixture("grey1")).pixels, [255, 0, 255, 255, 0, 0, 255, 0])
    }
}

