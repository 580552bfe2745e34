import Foundation
import XCTest
@testable import Core

/// Latent shards and latents.json: exact round trip, and every damage an error naming the file and
/// what is wrong — never a crash.
final class LatentShardTests: XCTestCase {
    var dir = ""
    var fixture: LatentFixture!

    override func setUpWithError() throws {
        dir = makeTemporaryDirectory("latents")
        fixture = try LatentFixture(dir)
    }

    override func tearDown() { removeDirectory(dir) }

    private func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
    private func write(_ b: [UInt8], _ path: String) throws { try Data(b).write(to: URL(fileURLWithPath: path)) }
    private func name(_ path: String) -> String { String(path.split(separator: "/").last!) }

    /// Asserts `body` throws a DatasetError (one of `kinds`) whose message contains every fragment.
    private func expectError<T>(_ kinds: [DatasetError.Kind], _ fragments: [String], file: StaticString = #filePath,
                                line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected a \(kinds) error, got success", file: file, line: line)
        } catch let e as DatasetError {
            XCTAssertTrue(kinds.contains(e.kind), "kind \(e.kind), message: \(e.message)", file: file, line: line)
            for f in fragments { XCTAssertTrue(e.message.contains(f), "'\(f)' not in: \(e.message)", file: file, line: line) }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testRoundTripIsBitExact() throws {
        let data = try LatentDataset(directory: dir, verifyDigests: true)
        XCTAssertEqual(data.manifest, fixture.manifest)
        XCTAssertEqual(data.trajectories.count, fixture.trajectories.count)
        for (a, b) in zip(data.trajectories, fixture.trajectories) {
            XCTAssertEqual(a.id, b.id)
            XCTAssertEqual(a.split, b.split)
            XCTAssertEqual(a.count, b.count)
            XCTAssertEqual(a.firstFrame, b.firstFrame)
            XCTAssertEqual(a.dt.bitPattern, b.dt.bitPattern)
            // Bit patterns, not ==: -0.0 == 0.0 would hide a sign lost on the way.
            XCTAssertEqual(a.latents.map(\.bitPattern), b.latents.map(\.bitPattern), "trajectory \(a.id)")
            XCTAssertEqual(a.states.map(\.bitPattern), b.states.map(\.bitPattern), "trajectory \(a.id)")
        }
        XCTAssertEqual(data.trajectories(.train).map(\.id), fixture.manifest.splits.train)
        XCTAssertEqual(data.trajectories(.validation).map(\.id), fixture.manifest.splits.validation)
        XCTAssertEqual(data.trajectories(.test).map(\.id), fixture.manifest.splits.test)
        XCTAssertEqual(data.stateNames, ["theta", "omega"])
        XCTAssertEqual(data.dt, 1.0 / 30)
        // The container stays a valid zstd stream like a frame shard: header frame skippable, seek table last.
        let header = try ShardReader(path: fixture.shardPaths[0], ifDamaged: latentAdvice).header
        XCTAssertEqual(header.payload, .latents)
        XCTAssertEqual(header.bytesPerTrajectory, 9 * 3 * 4)
    }

    func testFrameReaderRefusesALatentShardAndBack() throws {
        let reader = try ShardReader(path: fixture.shardPaths[0])
        expectError([.inconsistent], [name(fixture.shardPaths[0]), "latent shard, not a frame shard"]) { try reader.trajectory(at: 0) }
        // A frame shard copied into a latent directory is named as such.
        let frames = makeTemporaryDirectory("latent-frames")
        defer { removeDirectory(frames) }
        _ = try writeTestDataset(frames, count: 3, perShard: 3, frames: 4, height: 4, width: 4)
        let frameShard = try DatasetReader(directory: frames).manifest.shards[0].file
        try write(try bytes(frames + "/" + frameShard), fixture.shardPaths[1])
        expectError([.sizeMismatch, .truncated, .inconsistent], [name(fixture.shardPaths[1])]) { try LatentDataset(directory: dir) }
    }

    func testTruncatedShardNamesTheFile() throws {
        let path = fixture.shardPaths[1]
        let original = try bytes(path)
        for cut in [1, 9, 30, original.count / 2, original.count - 10] {
            try write(Array(original.prefix(original.count - cut)), path)
            expectError([.truncated], [name(path), "truncated", "cpae-mpi encode"]) { try LatentDataset(directory: dir) }
            // Alone, without the manifest's byte count, the container's own structure catches it.
            expectError([.truncated, .seekTableCorrupted, .sizeMismatch], [name(path)]) { try ShardReader(path: path, ifDamaged: latentAdvice) }
        }
    }

    func testFlippedByteNamesTheFileAndWhatIsWrong() throws {
        let path = fixture.shardPaths[0]
        let original = try bytes(path)
        let header = try ShardReader(path: path).header
        let payloadBytes = Int(ByteReader(original).u32(4))
        let firstFrame = 8 + payloadBytes
        // A header byte (an id), the dt, a split code, and a byte inside a latent frame.
        let extras = 8 + 64 + 8 * header.trajectoryCount + 8 * header.trajectoryCount * header.frameCount * header.stateDimension
        let cases: [(offset: Int, kinds: [DatasetError.Kind], fragment: String)] = [
            (8 + 64 + 2, [.headerCorrupted], "checksum mismatch"),
            (8 + 60, [.headerCorrupted, .implausibleHeader], name(path)),
            (extras + 4 * header.trajectoryCount + 1, [.headerCorrupted], name(path)),
            (firstFrame + 20, [.frameCorrupted, .sizeMismatch], "trajectory \(header.trajectoryIDs[0])"),
        ]
        for c in cases {
            var b = original
            b[c.offset] ^= 0x10
            try write(b, path)
            expectError(c.kinds, [name(path), c.fragment]) { try LatentDataset(directory: dir) }
        }
        // Every single-byte flip anywhere is an error or (in slack bytes zstd ignores) a faithful read.
        let expected = fixture.trajectories.map { $0.latents.map(\.bitPattern) }
        for offset in stride(from: 0, to: original.count, by: 7) {
            var b = original
            b[offset] ^= 0x41
            try write(b, path)
            do {
                let data = try LatentDataset(directory: dir)
                XCTAssertEqual(data.trajectories.map { $0.latents.map(\.bitPattern) }, expected, "flip at \(offset) read back different latents")
            } catch {
                XCTAssertTrue("\(error)".contains(name(path)), "flip at \(offset): \(error)")
            }
        }
    }

    func testDigestMismatchIsNamedWhenVerifying() throws {
        var m = fixture.manifest
        m.shards[2].sha256 = String(repeating: "0", count: 64)
        try m.write(directory: dir)
        XCTAssertNoThrow(try LatentDataset(directory: dir), "without verification the digest is not read")
        expectError([.checksumMismatch], [m.shards[2].file, "SHA-256", String(repeating: "0", count: 64), "cpae-mpi encode"]) {
            try LatentDataset(directory: dir, verifyDigests: true)
        }
    }

    func testManifestProblemsAreNamed() throws {
        var m = fixture.manifest
        m.latentDimension = 4
        try m.write(directory: dir)
        expectError([.manifest], ["latentDimension 4"]) { try LatentDataset(directory: dir) }
        m = fixture.manifest
        m.dt = 0.5
        try m.write(directory: dir)
        expectError([.inconsistent], [name(fixture.shardPaths[0]), "dt"]) { try LatentDataset(directory: dir) }
        m = fixture.manifest
        m.splits.train.append(999)
        try m.write(directory: dir)
        expectError([.inconsistent, .manifest], ["trajectory"]) { try LatentDataset(directory: dir) }
        try fixture.manifest.write(directory: dir)
        try write([1, 2, 3], dir + "/latents-00099.cpz")
        expectError([.extraShard], ["latents-00099.cpz", "not listed"]) { try LatentDataset(directory: dir) }
        try FileManager.default.removeItem(atPath: dir + "/latents-00099.cpz")
        try FileManager.default.removeItem(atPath: dir + "/" + LatentManifest.fileName)
        expectError([.manifest], [LatentManifest.fileName, "not found", "cpae-mpi encode"]) { try LatentDataset(directory: dir) }
    }

    func testPrepareRefusesExistingLatentsUnlessOverwriting() throws {
        expectError([.invalidArgument], ["already holds latents", "--overwrite"]) { try LatentDirectory.prepare(dir, overwrite: false) }
        try LatentDirectory.prepare(dir, overwrite: true)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }
}
