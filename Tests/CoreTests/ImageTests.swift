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

    /// tools/make_resize_fixture.py: torch's antialiased bicubic (Pillow's BICUBIC) of a seeded
    /// random 13×17 RGB image, shrunk to 5×7 and enlarged to 29×31.
    private static let resizeInput = "i0rl8alBBqCVaiavvM2v5WL5CpRfVpPGQidq1astpzlFUTcOmbLXTDQn+kjXMqHfcKyh6SYRWQHdBvJ/jwY80l4ZpiH5vQzMITl8HseVyndI3APReoiTTYVSc1ei5kZH8D4vuB8iP0GSxY79UYXwcR73Z3ofEyqBjYghlaEAso1rI2uCSBvZ/mMNw8475OvKty9Fs1IjR59ueU1XA34s/enhWneJeB43IaVX2OWnAylty4HbP2XPnBvcXR2PyD8LC7Tbcb5XIgmFHT0k9MDPg/5DY/gvR1l3iVX2ztaBy+pxec7SyPgUoTRy/3DONp2DhUUqRPMYM38IzR5hTyNdP4O8Rf7p7gQDp5vhGFREQTF8kxH4XgQpsZ9+wOFW9lozIueRuIDumV4/DTB9L7r0AGk6F54NAn7U5YvnqevCiicdQ6eIVWOBROtmA/eycl3hH+asL4imgYKGl5Pwqtbe2BFuOrUWgcSjdP7HCmiz5L3JKzh5h0FsF+yQlj7HZoiKtLgOunxc/YESG+qc7hgQ39UWn68mzXtcMMirpE2XIpnox7Qbmh0rDxgGAKl01jtjMiAsmY6CslIsScQ5TH1zJltqr2GyiPvQrs+nZmFiI2EedkyTqjiP+r0KamQSsgmXHi2CcHb35Jq4+hlycb5To0QrEoza1yutD4ru9CoLmibXT8ePJWK4cBCXpVtVEFQ9J+1gDeMgCmdJMH/TeJnBGIGa9mdDlMP3ql+T8yyBCjfKe/EBPM34q4q0pgOZVOhMvjs/fxGDw9+DdcUXtOeGqarfdIj4krEhkTh62GrKVthTHJJ7kx/o8W55W5szF2fnEtvo9TMd2ZF/AeZHEN08JfTSFpCgSUUxNVUOwBk6i+0Xg9U+yURl"
    private static let resizeDown = "gGCad2SKgVeTZnZ0l1Rwm3Z6o11of6SGc3OJgI13kYqEkleUdJNcUkpYXK6kjH+PVmmDdp5/gKJ3h4aFgYloVYKUkGVnVGJMb2eJmYJieXeGnYCYfoqXamuThnxXTsptZI+inG9mf4Z1"
    private static let resizeUp = "eEX/q2vB/7BAoLlLCZuVJFGvbC27nZy5x9TG84X2uWzYF5dmCKlzVaHJUFmrRRhmmW0+2a8pv2o1kTMtWCYAXlQ7m67Ufo+jRzUepi1u+0rofIP6HLDqT7m/b7qnkj/Uslmp4otbh6ljB62QKlucdSSfpYiYyryp6HXuuFvhOXt/IYqBS4q8QWClPDtwlHpF2qIwyFpLnixNYjQgXmBJiqa8dIiYTTs3pzNx+ErIlHfURZnFZ5ugfpqM1zFSwy5smC6bSIOaAduBN3Rrig9ZvFhG1YRm0lDcuTL9jDS+Xj6lMlCiGHCZIY6IiZhU4YQ95TV8wRqaeVR1WX5uYZKDWXaAWEJxpz128kl+0Fp6qGFupFJWpEpK8CkAwhVLagDUKGrPCO+GRn9dlQM9wTcRzFotqTK/phb9xAzXkRWoLjJ4EIGBI8mUe6pky2pR3hqrzQ/Vl2qobZR5UotPVnltdWGnrlB+5kRB90Av7jknxicjsB4hkjA8lzJ/mjr3Ynv1I7i7TF+whwqXnEc2k2ceYC6UYxu7oTWDmU9TaGwxYJZOZ7N6a5dpcmVqfyDAmRbQxGBvvZM8i606lLhzu668ym6J0S865TYc3Usanlo5fGJLNjqHaFSuv4X2nZT/TofuWUj/cx3tdFplXXYfIThsKTV3enQ0l5UMlKAAqZ0rr45qYX92ImWHKy7MZx/A3Uw3+4QGyMIty+l45e7H046VuCtCvTUjrFwnZ4tYQaR0Pzx6UVSIc4OkkZ/RoqX6hnL7ZULSakpcWFUdEVFRI25nk6xUmKU2X3UbkHNSxn6eaXmoGmStNy/YbhfHsy5c1lYh1Y0bu79tlt7alqymm2ZOhT9FZTpLPG1RJ4lUc0JaTFFLDXA5bauH897rsrDRWmqPbDJKaSwpIHNFO7JrweCWmKaHETVcWkWQynzafHvZNmLObjDejRLScRaeiSZYy0EOkHdZIrPfRMaterBYTUxuIgx3HTRAHU0isGt7eXlYHZYeZM9V2v2wm8CdTmx3bTBzfjNvWJRfdNtr1PmVoMGfHlqWYXCdzaOqkHyzXUzAojnZsTLXWzavXzNosSwQemk8DMGjJtV7Xbc/WEllRwB5MhxGJzAp9arDyLuSdd45a/8yfP9TWrJeRVZ2bj2/l1jYrbSVwu1u1/xurOaXZLzNi9OMy+c2p4BWkS2Q2UjK2WnWXn2jRmpkiDofcX0dMuw7KtckQpAQjj0/rwljahdZQSNS6LfhyNO5jP9udv01cNMYXpNIVV2OY0/RgWThsaOeysd7yMiAqb+efrTAmtdzx/AXt5c0s0pt+lmg7X2xWqyUOJt1gFNWf4EyWdwRMrQHKGkWhkpSuDd6aS5nOypZgY/WdL7TYP/Eh8JfvUkArVpag4DFS2qlNViAXVx4hVuTpVLQlkG1bTRlkG9QxblSwsNQxa1R/21T7mlhT8Z9N8qfmnq+qnSDhowjQWAkCjpSOXOoWJXJK2NxEUc/NHmqMajHNPbzi5SQ8gUR4k18o6XjSXh8Fkk2KTpeUCighRLygAS4WwYvdkpEpKKGstV4wNlb6IQ6ym8/Qcx4ONa2pZHvvm+5oV5SWEFZFDmMJYbYMbTlD4drAGwmF4pBD5h6Ca/edn/H/UWF5pC0pM3QdHJcTzgfOGRiQWSaay+9aD+SS34/QbJgR9Okc7a1k5muhaWFYbJ4IrmaNqixk4S7q3i6mXy0eYW+YInIf2jIgFymM4hGCaETGaEACpVBAIDAXnzs4onn1srgpua6mGlPgCsgUoZpQp6PUmaFVIl1SOJlIP+DA/eyQ5jUcWDgPbu/G+GoJKCoRH+adoGEjoWrlpDsn8D1q9Pc0ligyxdgZYMqLcIPSbA2PbRnK7nCSp7ggYLdsbrew9nHiGpyXi1GZ2dwXJKGO6SARKyIYq6YRcSkJdKpXqCXi3+IZa+SW72Niohsg4dqULOFdZSSw12W06STz+eD04dZxUY3lIAveaMtf72Ue9amcP7GPcHEFmq1h5fI4L7NcWyYLzBwdDZudHB3JtmIOr2liFLEfV+4YZSRi61Fs7EYrZZMvYBc93cjwZ45LeeTXJ536SAh+W8U3d0duMQdpZoouoRHx3lYa8yzfNC1lNS7TanCAHjEdZ+r4biMhGJ3PiBjXRhMTVZUB9d7O7mbrzuvljOTW1xig5M2srAgvIE6x2o93IYUo60yLNaLSJBvsCUb0lod0rY5rdRHmtJavKl00JKCMteyXLOspHGka3LIFZTmcreJ0bcrrFUxcQw2NgYYCT8nALBoQ6J/0UN2nCNQOCktZGlOn5Zns2tDqGUpeqcnVrlEQJ14OXVxRU1Rf1RttnqYpMqrlPuyqNyqs8ilLL+eTpWPiUp4alenNYvbeaCCxJkgzGEapDMYQCEADjgZF3dpWW99szpnhSVWPSpRcWd8sI2RyFRVsVIwX7E4RbtHX3ZcPWNuEGmCX1GgtlC+iq/dbu/dpsmjxrCCUoVyTHNbRFI0TVJiZGCojlyVul5k5ogq25QEd2YAV0AlhSd+fRySViF8UDmgZVzKp4nD45Gl+Tty3TBQgqhKabNAiVo1UllpBn24aVS+zjO3YIHpKbDktHRh/1EZdFNxV1xUJGsjOWFJb0uQijCjpzOR5o0/67oHhoUIbU8yqiCDfRyPGDl3J1ivaXjxqZXg3JG49z6S3jJ0gp1jdqRGr04leF1sHpTed2TQ1C2qZFzZKXXVqDxP8RsFkSC8dUuZQJhaMoxvPlWkXSqrhx2Vw1tawoEvU2YnLWo8XJJtQqFmAp1BCIRiLmubUnjBeILQpGq3m2mbRJGFXIdg01Q0u3d+Y7n1hYrXu0WYsj6mmDytdiqLZCF4oBzaiFfCWL+XNrCfJma4RyyudBCUnj1ulF5PNU0/DHNFI9ZeIftMEuwjCq0kCmlFGm2XNoPXaZbQapm+HoirS3Z/4GZD4oyBmsHxlZvTrF6S6Dx84SyFSDS2ADrSlIpid6aGQ9THRrrTY3nBfimtjwSQiGNleJdHZFtAUk5MQ3ppUbNobupQWcoxPZIkUp1qca+zjLDPhKXdSIzkYIWrw5FAxZFcmYe8qXHKwmC1yW6AonhoKm2bAGe4gfEAZulGONbkX7jxpou6tC+opQaTb5djYNxCoG87rSRNfg14jlaKwNSFoN1Mc8AYk9VKteCRtMDGoqHte4z/d5TElLI3lYkyjkJ7ukSz12jMlq2GT9BTJKVwEIuDgrA+gK9vfqvGiqa4lpWEik2ccC22Pq6gRuN5t2pA4CQ+tCV4mmuIitd4bOZHVtUicOtfiPClfcHCcpTLbHXEZ3iJZZUlfGghoCNVuVF5vaCKhNRiWN1IW5lhX3JwijXPqEq72nKTtY5gaZpBQHKPJl/iDLjtMdG/vVxG/TUq42tykqZ4JeBUDuY5Hds3Le+JN+/MK7i/LYOZSFhhSk8zOmITbEAetxg/snQ5lOAtgO01gMpFpXJduUNqjAT/uCHa/1p+yIQ9WJwlIoKKB3T1AL7/KMvdwVdJ/zsh+IZwkb1yAONGAOc0Bt8/EvKaF/DcCba+EHuEOUw4Pz4QJ00LZC8bwBI0r4Idg/wGffohj8VCxGRa4DBm"

    func testBicubicMatchesPillowStyleReference() {
        let input = PixelImage(width: 17, height: 13, channels: 3, pixels: Array(Data(base64Encoded: Self.resizeInput)!))
        for (w, h, encoded) in [(7, 5, Self.resizeDown), (31, 29, Self.resizeUp)] {
            let expected = Array(Data(base64Encoded: encoded)!)
            let got = ImageResizer.resize(input, width: w, height: h, filter: .bicubic).pixels
            XCTAssertEqual(got.count, expected.count)
            let worst = zip(got, expected).map { abs(Int($0) - Int($1)) }.max()!
            XCTAssertLessThanOrEqual(worst, 1, "\(w)×\(h): largest difference \(worst) (rounding only)")
        }
    }
}
