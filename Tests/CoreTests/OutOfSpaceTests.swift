import Foundation
import XCTest
@testable import Core

/// A write that runs out of room — simulated with the process's file-size limit (RLIMIT_FSIZE,
/// what `ulimit -f` sets), which works unprivileged in any CI; write(2) then fails with EFBIG as it
/// fails with ENOSPC on a full disk, through the same path of the one atomic writer. The limit is
/// lowered only around the write under test and restored at once.
final class OutOfSpaceTests: XCTestCase {
    /// Runs `body` with the soft file-size limit at `bytes`.
    private func withFileSizeLimit<T>(_ bytes: Int, _ body: () throws -> T) rethrows -> T {
        var saved = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
        #else
        let resource = RLIMIT_FSIZE
        #endif
        XCTAssertEqual(getrlimit(resource, &saved), 0)
        var lowered = saved
        lowered.rlim_cur = rlim_t(bytes)
        XCTAssertEqual(setrlimit(resource, &lowered), 0)
        defer { var restore = saved; setrlimit(resource, &restore) }
        return try body()
    }

    private func leftovers(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".tmp.") }
    }

    /// The error names the target (not the temporary file), the bytes written, the free space and the
    /// limit; the previous version is untouched and no temporary file is left. The process is not
    /// killed by SIGXFSZ (the writer ignores it), or this test would not finish.
    func testOverTheLimitKeepsThePreviousVersionAndNamesTheFile() throws {
        let dir = makeTemporaryDirectory("out-of-space")
        defer { removeDirectory(dir) }
        let path = dir + "/state.bin"
        let previous = [UInt8](repeating: 7, count: 1000)
        try AtomicFile.write(previous, to: path)
        let big = [UInt8](repeating: 1, count: 256 << 10)
        let error = withFileSizeLimit(64 << 10) { () -> Error? in
            do { try AtomicFile.write(big, to: path); return nil } catch { return error }
        }
        let e = try XCTUnwrap(error as? FileError, "expected a FileError, got \(String(describing: error))")
        XCTAssertEqual(e.path, path)
        XCTAssertEqual(e.systemErrorCode, EFBIG)
        XCTAssertTrue(e.problem.contains("cannot write: File too large"), e.description)
        XCTAssertTrue(e.problem.contains("64.0 KiB (65536 bytes) of it written"), e.description)
        XCTAssertTrue(e.problem.contains("free on the file system of \(dir)"), e.description)
        XCTAssertTrue(e.problem.contains("files of at most 64.0 KiB (65536 bytes) (ulimit -f)"), e.description)
        XCTAssertTrue(e.advice.contains("ulimit -f"), e.description)
        XCTAssertEqual(FileManager.default.contents(atPath: path).map { [UInt8]($0) }, previous)
        XCTAssertEqual(leftovers(in: dir), [])
        // With room again the same write succeeds.
        try AtomicFile.write(big, to: path)
        XCTAssertEqual(FileManager.default.contents(atPath: path)?.count, big.count)
    }

    /// A shard that does not fit: the dataset writer's error names the shard file, nothing partial is
    /// left, and the shards written before stay complete.
    func testShardOverTheLimitNamesTheShard() throws {
        let dir = makeTemporaryDirectory("shard-out-of-space")
        defer { removeDirectory(dir) }
        let d = DatasetDescription(system: "sys", frameCount: 7, height: 40, width: 40, channels: 3, dt: 0.1, stateNames: ["a", "b"])
        let w = try DatasetWriter(directory: dir, description: d, trajectoriesPerShard: 1, compressionLevel: 1)
        let noisy = { (id: Int) -> FrameSequence in
            var rng = RNG.derived(5, UInt64(id))   // incompressible pixels: the shard is ~33 KiB
            return FrameSequence(id: id, frameCount: 7, height: 40, width: 40, channels: 3,
                                 frames: (0..<(7 * 40 * 40 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                                 stateDimension: 2, states: Array(repeating: 0.5, count: 14))
        }
        try w.append(noisy(0))
        let error = withFileSizeLimit(8 << 10) { () -> Error? in
            do { try w.append(noisy(1)); return nil } catch { return error }
        }
        let e = try XCTUnwrap(error as? FileError, "expected a FileError, got \(String(describing: error))")
        XCTAssertEqual(e.path, dir + "/sys-00001.cpz")
        XCTAssertTrue(e.description.contains("File too large") && e.description.contains("free on the file system"), e.description)
        XCTAssertEqual(leftovers(in: dir), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["sys-00000.cpz"])
    }

    /// The space text: exact bytes always, a binary unit from 1 KiB on.
    func testBytesText() {
        XCTAssertEqual(FileError.bytesText(0), "0 bytes")
        XCTAssertEqual(FileError.bytesText(1023), "1023 bytes")
        XCTAssertEqual(FileError.bytesText(1536), "1.5 KiB (1536 bytes)")
        XCTAssertEqual(FileError.bytesText(3 << 30), "3.0 GiB (3221225472 bytes)")
    }
}
