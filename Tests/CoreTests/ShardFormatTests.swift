import Foundation
import XCTest
@testable import Core

/// A fresh temporary directory, removed by the caller's `defer`.
func makeTemporaryDirectory(_ tag: String) -> String {
    let path = NSTemporaryDirectory() + "cpae-\(tag)-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func removeDirectory(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

/// A trajectory with random-ish but reproducible pixels and states, odd sizes on purpose.
func testTrajectory(id: Int, frames: Int = 7, height: Int = 5, width: Int = 6, channels: Int = 3,
                    stateDimension: Int = 2) -> FrameSequence {
    var rng = RNG.derived(99, UInt64(id))
    let pixels = (0..<(frames * height * width * channels)).map { i -> UInt8 in
        // Mostly smooth (compressible) with some noise.
        UInt8(truncatingIfNeeded: (i / 7 + id * 13) & 0xF0) &+ UInt8(truncatingIfNeeded: rng.next() & 3)
    }
    let states = (0..<(frames * stateDimension)).map { _ in rng.uniform(-3, 3) }
    return FrameSequence(id: id, frameCount: frames, height: height, width: width, channels: channels,
                         frames: pixels, stateDimension: stateDimension, states: states)
}

/// Writes `count` test trajectories (ids 100, 101, …) to `directory`.
@discardableResult
func writeTestDataset(_ directory: String, count: Int = 7, perShard: Int = 3, frames: Int = 7, height: Int = 5,
                      width: Int = 6, level: Int32 = 3, splits: DatasetSplits? = nil) throws -> [FrameSequence] {
    let d = DatasetDescription(system: "test/sys", frameCount: frames, height: height, width: width, channels: 3,
                               dt: 0.1, stateNames: ["a", "b"])
    let w = try DatasetWriter(directory: directory, description: d, trajectoriesPerShard: perShard, compressionLevel: level)
    let seqs = (0..<count).map { testTrajectory(id: 100 + $0, frames: frames, height: height, width: width) }
    for s in seqs { try w.append(s) }
    let ids = seqs.map(\.id)
    try w.finish(splits: splits ?? DatasetSplits(train: Array(ids.dropLast(2)), validation: [ids[ids.count - 2]],
                                                 test: [ids[ids.count - 1]]))
    return seqs
}

func runTool(_ tool: String, _ args: [String]) throws -> (status: Int32, stdout: Data) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = Pipe()
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, data)
}

final class ShardFormatTests: XCTestCase {
    func testSHA256KnownVectors() {
        func h(_ s: String) -> String { SHA256.hex(SHA256.hash(Array(s.utf8))) }
        XCTAssertEqual(h(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(h("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(h("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Chunking must not matter, including chunks that straddle the 55/56/64-byte padding edges.
        var rng = RNG(seed: 5)
        let data = (0..<1000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000] {
            let whole = SHA256.hash(Array(data[0..<length]))
            var inc = SHA256()
            var i = 0
            while i < length {
                let n = min(length - i, Int(rng.next() % 70))
                inc.update(Array(data[i..<(i + n)]))
                i += n
            }
            XCTAssertEqual(inc.finalize(), whole, "length \(length)")
        }
    }

    /// The NIST 896-bit message, fed in pieces; a copy of a half-fed hasher goes on independently
    /// (the EVP context is copied on write), and finalize starts the hasher over.
    func testSHA256StreamingCopiesAndRestarts() {
        let message = Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
        let expected = "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        XCTAssertEqual(SHA256.hex(SHA256.hash(message)), expected)
        var a = SHA256()
        a.update(Array(message[0..<50]))
        var b = a
        b.update(Array("something else".utf8))
        a.update(Array(message[50...]))
        XCTAssertEqual(SHA256.hex(a.finalize()), expected)
        XCTAssertEqual(SHA256.hex(b.finalize()), SHA256.hex(SHA256.hash(Array(message[0..<50]) + Array("something else".utf8))))
        a.update(Array("abc".utf8))
        XCTAssertEqual(SHA256.hex(a.finalize()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    func testSHA256MatchesSha256sumOnAFile() throws {
        let dir = makeTemporaryDirectory("sha")
        defer { removeDirectory(dir) }
        var rng = RNG(seed: 11)
        let bytes = (0..<(3 << 20) + 17).map { _ in UInt8(truncatingIfNeeded: rng.next()) }   // > 1 read chunk
        let path = dir + "/blob"
        try AtomicFile.write(bytes, to: path)
        let (status, out) = try runTool("/usr/bin/sha256sum", [path])
        XCTAssertEqual(status, 0)
        let expected = String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init)
        XCTAssertEqual(try SHA256.hexDigest(ofFile: path), expected)
    }

    func testCRC32CCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([]), 0)
    }

    func testRoundTripEveryTrajectoryAndManifest() throws {
        let dir = makeTemporaryDirectory("roundtrip")
        defer { removeDirectory(dir) }
        let seqs = try writeTestDataset(dir, count: 7, perShard: 3)
        let reader = try DatasetReader(directory: dir)
        XCTAssertEqual(reader.manifest.shards.map(\.trajectoryCount), [3, 3, 1])
        XCTAssertEqual(reader.trajectoryIDs, seqs.map(\.id))
        XCTAssertEqual(reader.description.frameCount, 7)
        XCTAssertEqual(reader.splits.test, [106])
        for s in seqs.shuffled(using: &RNGBox.shared.rng) {
            let r = try reader.trajectory(id: s.id)
            XCTAssertEqual(r.frames, s.frames, "trajectory \(s.id)")
            XCTAssertEqual(r.states, s.states)
            XCTAssertEqual([r.frameCount, r.height, r.width, r.channels, r.stateDimension], [7, 5, 6, 3, 2])
        }
        // Manifest sizes and hashes describe the files.
        for entry in reader.manifest.shards {
            let path = dir + "/" + entry.file
            XCTAssertTrue(entry.file.hasPrefix("test_sys-"), entry.file)
            XCTAssertEqual(try SHA256.hexDigest(ofFile: path), entry.sha256)
            XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).int64Value, entry.bytes)
        }
        let report = try reader.verify()
        XCTAssertEqual(report.trajectories, 7)
        XCTAssertEqual(report.rawBytes, Int64(7 * 7 * 5 * 6 * 3))
        XCTAssertThrowsError(try reader.trajectory(id: 5)) { XCTAssertEqual(($0 as? DatasetError)?.kind, .invalidArgument) }
        // The fingerprint identifies the dataset: same for two opens, different after a rewrite.
        XCTAssertEqual(reader.fingerprint, try DatasetReader(directory: dir).fingerprint)
        let other = makeTemporaryDirectory("roundtrip2")
        defer { removeDirectory(other) }
        try writeTestDataset(other, count: 7, perShard: 2)
        XCTAssertNotEqual(reader.fingerprint, try DatasetReader(directory: other).fingerprint)
        // No temp files left behind by the atomic writes.
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: dir).contains { $0.hasPrefix(".") })
    }

    func testShardIsAValidZstdFileAndSeekableFooter() throws {
        let dir = makeTemporaryDirectory("zstd")
        defer { removeDirectory(dir) }
        let seqs = try writeTestDataset(dir, count: 4, perShard: 4)
        let path = dir + "/" + (try DatasetReader(directory: dir)).manifest.shards[0].file
        XCTAssertEqual(try runTool("/usr/bin/zstd", ["-q", "-t", path]).status, 0, "zstd -t rejects the shard")
        // zstd -d skips both skippable frames: the output is the raw trajectories back to back.
        let (status, out) = try runTool("/usr/bin/zstd", ["-q", "-d", "-c", path])
        XCTAssertEqual(status, 0)
        XCTAssertEqual(Array(out), seqs.flatMap(\.frames))
        // Standard seekable footer: n + 1 frames (header frame included), descriptor, magic 0x8F92EAB1
        // as the last bytes; walking the entries' compressed sizes from offset 0 lands on every frame
        // and ends exactly at the seek table, as a generic seekable reader would do it.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes.suffix(4)), [0xB1, 0xEA, 0x92, 0x8F])
        XCTAssertEqual(Array(bytes.suffix(9).prefix(5)), [5, 0, 0, 0, 0])
        let r = ByteReader(bytes)
        let tableStart = bytes.count - (8 + 5 * 8 + 9)
        XCTAssertEqual(r.u32(tableStart), 0x184D_2A5E)
        var offset = 0
        for i in 0..<5 {
            let c = Int(r.u32(tableStart + 8 + 8 * i)), d = Int(r.u32(tableStart + 12 + 8 * i))
            XCTAssertEqual(d, i == 0 ? 0 : 7 * 5 * 6 * 3)
            // Each frame starts where the running sum says: skippable magic first, then zstd frames.
            XCTAssertEqual(r.u32(offset), i == 0 ? 0x184D_2A50 : 0xFD2F_B528, "frame \(i)")
            offset += c
        }
        XCTAssertEqual(offset, tableStart)
        XCTAssertEqual(Array(bytes.prefix(4)), [0x50, 0x2A, 0x4D, 0x18])
        XCTAssertEqual(Array(bytes[8..<16]), Array("CPAESHRD".utf8))
    }

    func testCompressionLevelIsConfigurableAndRecorded() throws {
        let a = makeTemporaryDirectory("l1"), b = makeTemporaryDirectory("l19")
        defer { removeDirectory(a); removeDirectory(b) }
        try writeTestDataset(a, count: 3, perShard: 3, frames: 20, height: 32, width: 32, level: 1)
        try writeTestDataset(b, count: 3, perShard: 3, frames: 20, height: 32, width: 32, level: 19)
        let ra = try DatasetReader(directory: a), rb = try DatasetReader(directory: b)
        XCTAssertEqual(ra.shards[0].header.compressionLevel, 1)
        XCTAssertEqual(rb.shards[0].header.compressionLevel, 19)
        XCTAssertEqual(rb.manifest.compressionLevel, 19)
        XCTAssertNotEqual(ra.compressedBytes, rb.compressedBytes)
        XCTAssertEqual(try ra.trajectory(id: 101).frames, try rb.trajectory(id: 101).frames)
    }

    func testWriterRejectsBadInput() throws {
        let dir = makeTemporaryDirectory("writer")
        defer { removeDirectory(dir) }
        let d = DatasetDescription(system: "x", frameCount: 7, height: 5, width: 6, channels: 3, dt: 0.1, stateNames: ["a", "b"])
        XCTAssertThrowsError(try DatasetWriter(directory: dir, description: d, compressionLevel: 99))
        let w = try DatasetWriter(directory: dir, description: d, trajectoriesPerShard: 2)
        try w.append(testTrajectory(id: 1))
        XCTAssertThrowsError(try w.append(testTrajectory(id: 1))) { XCTAssertTrue("\($0)".contains("twice")) }
        XCTAssertThrowsError(try w.append(testTrajectory(id: 2, frames: 8))) { XCTAssertTrue("\($0)".contains("trajectory 2")) }
        XCTAssertThrowsError(try w.finish(splits: DatasetSplits(train: [1, 3], validation: [], test: [])))
        let w2 = try DatasetWriter(directory: dir + "2", description: d)
        defer { removeDirectory(dir + "2") }
        try w2.append(testTrajectory(id: 1))
        try w2.finish(splits: DatasetSplits(train: [1], validation: [], test: []))
        // Never write over an existing dataset.
        XCTAssertThrowsError(try DatasetWriter(directory: dir + "2", description: d)) { XCTAssertTrue("\($0)".contains("already holds")) }
    }

    func testPairsOfATrajectory() throws {
        let dir = makeTemporaryDirectory("pairs")
        defer { removeDirectory(dir) }
        let seqs = try writeTestDataset(dir, count: 2, perShard: 2)
        let reader = try DatasetReader(directory: dir)
        let x = try reader.pairs(trajectoryID: 101)
        XCTAssertEqual(x.shape, [6, 3, 5, 12])
        let s = seqs[1]
        for (n, c, h, w) in [(0, 0, 0, 0), (3, 2, 4, 11), (5, 1, 2, 6), (2, 0, 3, 5)] {
            let frame = n + (w >= 6 ? 1 : 0), col = w % 6
            let expected = Float(s.frames[((frame * 5 + h) * 6 + col) * 3 + c]) / 255
            XCTAssertEqual(x[((n * 3 + c) * 5 + h) * 12 + w], expected)
        }
        XCTAssertThrowsError(try reader.pairs(trajectoryID: 101, starts: [6]))
    }
}

/// A seeded generator for test shuffles.
final class RNGBox { static let shared = RNGBox(); var rng = RNG(seed: 3) }
