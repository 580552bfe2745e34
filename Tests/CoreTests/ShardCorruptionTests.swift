import CZstd
import Foundation
import XCTest
@testable import Core

/// Each way a dataset can be damaged gives a specific, actionable error — never a crash, hang or
/// giant allocation.
final class ShardCorruptionTests: XCTestCase {
    var dir = ""
    var seqs: [FrameSequence] = []
    var shardPaths: [String] = []

    override func setUpWithError() throws {
        dir = makeTemporaryDirectory("corrupt")
        seqs = try writeTestDataset(dir, count: 6, perShard: 3, frames: 8, height: 16, width: 16)
        shardPaths = try DatasetReader(directory: dir).manifest.shards.map { dir + "/" + $0.file }
    }

    override func tearDown() { removeDirectory(dir) }

    private func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    private func write(_ b: [UInt8], _ path: String) throws { try Data(b).write(to: URL(fileURLWithPath: path)) }

    /// Asserts `body` throws a DatasetError of `kind` whose message contains every fragment.
    private func expectError<T>(_ kind: DatasetError.Kind, _ fragments: [String], file: StaticString = #filePath,
                                line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected \(kind) error, got success", file: file, line: line)
        } catch let e as DatasetError {
            XCTAssertEqual(e.kind, kind, "message: \(e.message)", file: file, line: line)
            for f in fragments { XCTAssertTrue(e.message.contains(f), "'\(f)' not in: \(e.message)", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    private var shardName: String { String(shardPaths[0].split(separator: "/").last!) }

    func testTruncatedShardAgainstManifestAndAlone() throws {
        let original = try bytes(shardPaths[0])
        for cut in [1, 9, 100, original.count / 2, original.count - 20] {
            try write(Array(original.prefix(original.count - cut)), shardPaths[0])
            expectError(.truncated, [shardName, "truncated", "cpae-mpi generate"]) { try DatasetReader(directory: dir) }
            // Without the manifest's byte count the shard's own structure still catches it.
            do { _ = try ShardReader(path: shardPaths[0]); XCTFail("cut \(cut) accepted") } catch let e as DatasetError {
                XCTAssertTrue([.truncated, .seekTableCorrupted, .sizeMismatch].contains(e.kind), "\(cut): \(e)")
                XCTAssertTrue(e.message.contains(shardName))
            }
        }
        try write(Array(original.prefix(5)), shardPaths[0])
        expectError(.truncated, [shardName, "shorter than the smallest shard"]) { try ShardReader(path: shardPaths[0]) }
    }

    func testAppendedBytes() throws {
        try write(try bytes(shardPaths[1]) + [1, 2, 3], shardPaths[1])
        expectError(.sizeMismatch, ["manifest.json says"]) { try DatasetReader(directory: dir) }
        expectError(.seekTableCorrupted, ["seekable magic"]) { try ShardReader(path: shardPaths[1]) }
    }

    func testWrongMagicAndVersion() throws {
        var b = try bytes(shardPaths[0])
        b[0] ^= 0xFF
        try write(b, shardPaths[0])
        expectError(.notAShard, [shardName, "not a cpae shard"]) { try DatasetReader(directory: dir) }
        b[0] ^= 0xFF
        b[9] ^= 0xFF   // own magic "CPAESHRD" at 8…15
        try write(b, shardPaths[0])
        expectError(.notAShard, ["CPAESHRD"]) { try ShardReader(path: shardPaths[0]) }
        b[9] ^= 0xFF
        b[16] = 7      // version u16 at payload offset 8
        try write(b, shardPaths[0])
        expectError(.unsupportedVersion, ["version 7"]) { try ShardReader(path: shardPaths[0]) }
    }

    func testFlippedHeaderByteFailsTheCRC() throws {
        var b = try bytes(shardPaths[0])
        // A trajectory id byte (payload offset 64) and a state byte: structurally fine, CRC catches it.
        for offset in [8 + 64, 8 + 64 + 3 * 8 + 5, 8 + 40] {
            b[offset] ^= 0x04
            try write(b, shardPaths[0])
            expectError(.headerCorrupted, [shardName, "checksum mismatch"]) { try ShardReader(path: shardPaths[0]) }
            b[offset] ^= 0x04
        }
    }

    /// Rewrites a fixed header field and fixes up the CRC, as a buggy writer would.
    private func patchHeader(_ b: inout [UInt8], payloadOffset: Int, _ value: UInt32) {
        b.replaceSubrange((8 + payloadOffset)..<(12 + payloadOffset), with: ByteWriter.le32(value))
        let size = Int(ByteReader(b).u32(4))
        var payload = Array(b[8..<(8 + size)])
        payload.replaceSubrange(12..<16, with: [0, 0, 0, 0])
        b.replaceSubrange(20..<24, with: ByteWriter.le32(CRC32C.checksum(payload)))
    }

    func testAbsurdHeaderSizesAreRejectedBeforeAllocating() throws {
        let original = try bytes(shardPaths[0])
        // 2^20 frames of 2^14 × 2^14 × 4: 2^50 bytes (~2^40 frames' worth of pixels at 128²×3).
        var b = original
        patchHeader(&b, payloadOffset: 16, 1 << 20); patchHeader(&b, payloadOffset: 20, 1 << 14)
        patchHeader(&b, payloadOffset: 24, 1 << 14); patchHeader(&b, payloadOffset: 28, 4)
        try write(b, shardPaths[0])
        expectError(.implausibleHeader, ["exceeds 1 GiB"]) { try ShardReader(path: shardPaths[0]) }
        // 0xFFFFFFFF frames / trajectories.
        for field in [16, 36] {
            b = original
            patchHeader(&b, payloadOffset: field, .max)
            try write(b, shardPaths[0])
            expectError(.implausibleHeader, ["implausible"]) { try ShardReader(path: shardPaths[0]) }
        }
        // A plausible but wrong trajectory count: the header size no longer matches.
        b = original
        patchHeader(&b, payloadOffset: 36, 1000)
        try write(b, shardPaths[0])
        expectError(.sizeMismatch, ["imply"]) { try ShardReader(path: shardPaths[0]) }
        // Header frame claiming 4 GiB.
        b = original
        b.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])
        try write(b, shardPaths[0])
        expectError(.truncated, ["4294967295"]) { try ShardReader(path: shardPaths[0]) }
    }

    func testMissingAndExtraShards() throws {
        let moved = dir + "/../" + UUID().uuidString + ".cpz"
        try FileManager.default.moveItem(atPath: shardPaths[1], toPath: moved)
        defer { try? FileManager.default.removeItem(atPath: moved) }
        expectError(.missingShard, ["missing", "103"]) { try DatasetReader(directory: dir) }
        try FileManager.default.moveItem(atPath: moved, toPath: shardPaths[1])
        _ = try DatasetReader(directory: dir)
        try FileManager.default.copyItem(atPath: shardPaths[1], toPath: dir + "/stale-00009.cpz")
        expectError(.extraShard, ["stale-00009.cpz", "not listed"]) { try DatasetReader(directory: dir) }
    }

    func testManifestProblems() throws {
        let path = dir + "/manifest.json"
        let good = try bytes(path)
        try write(Array("{\"formatVersion\": 1".utf8), path)
        expectError(.manifest, ["not a valid manifest"]) { try DatasetReader(directory: dir) }
        // A wrong value names its field, down to the array element.
        let text = String(decoding: good, as: UTF8.self)
        let shardBytes = try XCTUnwrap(text.range(of: #""bytes" : [0-9]+"#, options: .regularExpression))
        try write(Array(text.replacingCharacters(in: shardBytes, with: #""bytes" : "many""#).utf8), path)
        expectError(.manifest, ["\(path): field shards[0].bytes: expected an integer, found a string", "not a valid manifest"]) {
            try DatasetReader(directory: dir)
        }
        let frames = try XCTUnwrap(text.range(of: #""frameCount" : [0-9]+"#, options: .regularExpression))
        try write(Array(text.replacingCharacters(in: frames, with: #""frameCount" : 6.5"#).utf8), path)
        expectError(.manifest, ["\(path): field description.frameCount: expected an integer, found 6.5"]) { try DatasetReader(directory: dir) }
        try FileManager.default.removeItem(atPath: path)
        expectError(.manifest, ["not found", "cpae-mpi generate"]) { try DatasetReader(directory: dir) }
        // Header ids that disagree with the manifest (e.g. shards renamed/swapped).
        var m = try JSONCoding.decode(Manifest.self, from: good, file: path)
        m.shards[0].trajectoryIDs[1] = 555
        try write(try m.encoded(), path)
        expectError(.inconsistent, [shardName, "555"]) { try DatasetReader(directory: dir) }
        m = try JSONCoding.decode(Manifest.self, from: good, file: path)
        m.splits.test = [999]
        try write(try m.encoded(), path)
        expectError(.manifest, ["test split", "999"]) { try DatasetReader(directory: dir) }
        m = try JSONCoding.decode(Manifest.self, from: good, file: path)
        m.description.height = 17
        try write(try m.encoded(), path)
        expectError(.inconsistent, ["16×16×3", "17×16×3"]) { try DatasetReader(directory: dir) }
    }

    func testFlippedFrameByteFailsZstdAndSHA256() throws {
        let reader0 = try DatasetReader(directory: dir)
        let frameStart = Int(reader0.shards[0].offsets[1])
        let length = reader0.shards[0].compressedBytes[1]
        var b = try bytes(shardPaths[0])
        b[frameStart + length / 2] ^= 0x10
        try write(b, shardPaths[0])
        // Sizes are intact, so opening succeeds (that is the cheap start-up check) …
        let reader = try DatasetReader(directory: dir)
        // … the damaged trajectory fails with its name and id, its neighbours still read.
        expectError(.frameCorrupted, [shardName, "trajectory 101", "cpae-mpi generate"]) { try reader.trajectory(id: 101) }
        XCTAssertEqual(try reader.trajectory(id: 100).frames, seqs[0].frames)
        XCTAssertEqual(try reader.trajectory(id: 102).frames, seqs[2].frames)
        expectError(.checksumMismatch, [shardName, "SHA-256"]) { try reader.verify() }
        // The digest-only check train-ae runs at start: each rank's share of the shards.
        expectError(.checksumMismatch, [shardName, "SHA-256", "trajectory 101"]) { try reader.verifyDigests(shards: [0]) }
        XCTAssertEqual(try reader.verifyDigests(shards: [1]), reader.manifest.shards[1].bytes, "the intact shard passes")
    }

    /// A shard that cannot be read at all gives the I/O layer's FileError naming it, not a DatasetError.
    func testUnreadableShardGivesAFileErrorNamingIt() throws {
        let reader = try DatasetReader(directory: dir)
        try FileManager.default.removeItem(atPath: shardPaths[1])
        XCTAssertThrowsError(try reader.verifyDigests(shards: [1])) { error in
            guard let e = error as? FileError else { return XCTFail("not a FileError: \(error)") }
            XCTAssertTrue(e.isNotFound, "\(e)")
            XCTAssertTrue("\(e)".hasPrefix(shardPaths[1]), "\(e)")
        }
        try FileManager.default.createDirectory(atPath: shardPaths[1], withIntermediateDirectories: false)
        XCTAssertThrowsError(try reader.trajectory(id: 103)) { error in
            XCTAssertTrue(error is FileError && "\(error)".contains(shardPaths[1]) && "\(error)".contains("directory"), "\(error)")
        }
    }

    func testChecksumCaughtEvenWhenOnlyTheStoredChecksumChanges() throws {
        let reader0 = try DatasetReader(directory: dir)
        let end = Int(reader0.shards[0].offsets[0]) + reader0.shards[0].compressedBytes[0]
        var b = try bytes(shardPaths[0])
        b[end - 1] ^= 0x01   // the frame's last 4 bytes are zstd's content checksum
        try write(b, shardPaths[0])
        let reader = try DatasetReader(directory: dir)
        expectError(.frameCorrupted, ["trajectory 100", "checksum"]) { try reader.trajectory(id: 100) }
    }

    func testSeekTableDisagreements() throws {
        let original = try bytes(shardPaths[0])
        let n = 3, tableStart = original.count - ShardFormat.seekTableBytes(trajectories: n)
        var b = original
        b[tableStart + 8 + 8 + 4] ^= 0x01   // raw size of frame 1 (trajectory 100)
        try write(b, shardPaths[0])
        expectError(.sizeMismatch, ["trajectory 100", "raw bytes"]) { try ShardReader(path: shardPaths[0]) }
        b = original
        b[tableStart + 8 + 8] ^= 0x01        // compressed size of trajectory 100: sizes no longer add up
        try write(b, shardPaths[0])
        expectError(.sizeMismatch, ["add up"]) { try ShardReader(path: shardPaths[0]) }
        b = original
        b[tableStart + 12] ^= 0x01           // raw size of the header frame must be 0
        try write(b, shardPaths[0])
        expectError(.seekTableCorrupted, ["entry 0"]) { try ShardReader(path: shardPaths[0]) }
        b = original
        b[b.count - 5] = 0x80                // descriptor: checksum flag we never write
        try write(b, shardPaths[0])
        expectError(.seekTableCorrupted, ["checksum flag"]) { try ShardReader(path: shardPaths[0]) }
        b[b.count - 5] = 0x04                // a reserved bit
        try write(b, shardPaths[0])
        expectError(.seekTableCorrupted, ["reserved bits"]) { try ShardReader(path: shardPaths[0]) }
        b[b.count - 5] = 0x03                // unused bits: ignored, as the seekable format requires
        try write(b, shardPaths[0])
        XCTAssertNoThrow(try ShardReader(path: shardPaths[0]))
    }

    /// A frame whose zstd content size is not T·H·W·C although the seek table claims it is.
    func testFrameContentSizeMismatch() throws {
        let h = ShardHeader(frameCount: 2, height: 2, width: 2, channels: 1, stateDimension: 0, shardIndex: 0,
                            compressionLevel: 3, trajectoryIDs: [7], states: [])
        let raw = [UInt8](repeating: 9, count: 9)   // 9 bytes, the shape needs 8
        var frame = [UInt8](repeating: 0, count: 64)
        let n = ZSTD_compress(&frame, 64, raw, raw.count, 3)
        frame = Array(frame.prefix(n))
        let payload = h.encoded()
        var lead = ByteWriter(); lead.u32(0x184D_2A50); lead.u32(UInt32(payload.count))
        let table = SeekTable(headerFrameBytes: lead.data.count + payload.count, compressedSizes: [frame.count], rawSizes: [8]).encoded()
        let path = dir + "/../crafted-\(UUID().uuidString).cpz"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try write(lead.data + payload + frame + table, path)
        let r = try ShardReader(path: path)
        expectError(.sizeMismatch, ["trajectory 7", "declares 9", "expected 8"]) { try r.trajectory(at: 0) }
    }
}
