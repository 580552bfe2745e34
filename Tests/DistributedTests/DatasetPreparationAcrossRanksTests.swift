import Foundation
import TestLauncher
import XCTest

/// `generate` and `ingest --folders` under mpirun: each rank writes its share of the shards, rank 0
/// the manifest, and the directory is byte for byte the one-rank directory; ranks with different
/// flags write nothing, and a bad input file on one rank ends the whole job with that rank's message.
final class DatasetPreparationAcrossRanksTests: XCTestCase {
    private static let root: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-dataprep-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// The datasets and runs are small, but many test runs would pile them up in /tmp.
    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
        super.tearDown()
    }

    private func fresh(_ name: String) -> String { Self.root + "/\(name)-\(UUID().uuidString.prefix(8))" }

    /// 9 trajectories in shards of 2: 5 shards, the last one short, so 2 and 3 ranks get unequal shares.
    private func generateArguments(out: String, format: String = "shards") -> [String] {
        ["generate", "--system", "pendulum", "--trajectories", "9", "--frames", "6", "--size", "16", "--channels", "1",
         "--seed", "5", "--samples", "2", "--shard-size", "2", "--format", format, "--out", out]
    }

    /// Every file of `directory` (it has no subdirectories) by name.
    private func files(_ directory: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            out[name] = try XCTUnwrap(FileManager.default.contents(atPath: directory + "/" + name), name, file: file, line: line)
        }
        return out
    }

    private func assertSameFiles(_ a: [String: Data], _ b: [String: Data], _ what: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted(), what, file: file, line: line)
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], "\(what): \(name) differs", file: file, line: line) }
    }

    private func run(ranks: Int, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> MPILauncher.Result {
        let r = try MPILauncher.runUnderMPI(ranks: ranks, arguments, timeout: 60)
        XCTAssertEqual(r.exitCode, 0, r.summary, file: file, line: line)
        return r
    }

    func testGenerateWritesTheSameBytesAtAnyRankCount() throws {
        let one = fresh("gen-np1")
        let r1 = try run(ranks: 1, generateArguments(out: one))
        let reference = try files(one)
        XCTAssertEqual(reference.count, 6, "5 shards and manifest.json\n\(r1.summary)")
        for ranks in [2, 3] {
            let out = fresh("gen-np\(ranks)")
            let r = try run(ranks: ranks, generateArguments(out: out))
            assertSameFiles(reference, try files(out), "np \(ranks) against np 1")
            // Rank 0 reports the job's frames/s, once per line, for all ranks.
            XCTAssertTrue(r.stderr.contains("generate pendulum: 9/9 trajectories, 54 frames, "), r.summary)
            XCTAssertTrue(r.stderr.contains("frames/s on \(ranks) rank(s) ("), r.summary)
            XCTAssertEqual(r.stderr.components(separatedBy: "generate pendulum: done in").count, 2, "one final line\n\(r.summary)")
        }
    }

    /// The reference's folder layout (from `generate --format png-folders`) ingested at 1, 2 and 3 ranks.
    func testIngestWritesTheSameBytesAtAnyRankCount() throws {
        let folders = fresh("png")
        _ = try run(ranks: 1, generateArguments(out: folders, format: "png-folders") + ["--quiet"])
        var reference: [String: Data]?
        for ranks in [1, 2, 3] {
            let out = fresh("ingest-np\(ranks)")
            let r = try run(ranks: ranks, ["ingest", "--folders", folders, "--out", out, "--size", "16", "--channels", "1",
                                           "--shard-size", "2", "--seed", "4"])
            XCTAssertTrue(r.stderr.contains("ingest: 9/9 trajectories, 54 frames, ") && r.stderr.contains("frames/s on \(ranks) rank(s)"),
                          r.summary)
            let got = try files(out)
            if let reference { assertSameFiles(reference, got, "ingest np \(ranks) against np 1") } else {
                XCTAssertEqual(got.count, 6, r.summary)
                reference = got
            }
        }
    }

    /// Ranks started with different flags (here the seed) write nothing: every rank names the difference.
    func testRanksWithDifferentFlagsWriteNothing() throws {
        let out = fresh("mismatch")
        let exe = try MPILauncher.executable(), mpirun = try MPILauncher.mpirun()
        var other = generateArguments(out: out)
        other[other.firstIndex(of: "--seed")! + 1] = "6"
        let argv = [mpirun, "--oversubscribe", "--allow-run-as-root", "-np", "1", exe] + generateArguments(out: out)
            + [":", "-np", "1", exe] + other
        let r = try MPILauncher.run(argv, timeout: 60)
        XCTAssertFalse(r.timedOut, r.summary)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        for rank in 0..<2 {
            XCTAssertTrue(r.stderr.contains("cpae-mpi: rank \(rank): dataset job (flags and input files) differs between ranks: rank 0 hash 0x"),
                          r.summary)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing may be written\n\(r.summary)")
    }

    /// Trajectory 2 is in shard 1, which rank 1 of 2 ingests: its unreadable frame ends the job with
    /// rank 1's message naming the file, and no manifest is written.
    func testBadFrameOnOneRankEndsTheWholeJob() throws {
        let folders = fresh("png-bad")
        _ = try run(ranks: 1, generateArguments(out: folders, format: "png-folders") + ["--quiet"])
        let bad = folders + "/2/3.png"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: bad))
        let out = fresh("ingest-bad")
        let r = try MPILauncher.runUnderMPI(ranks: 2, ["ingest", "--folders", folders, "--out", out, "--size", "16", "--channels", "1",
                                                       "--shard-size", "2", "--quiet"], timeout: 60)
        XCTAssertFalse(r.timedOut, r.summary)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertLessThan(r.seconds, 10, r.summary)
        XCTAssertTrue(r.stderr.contains("cpae-mpi: rank 1: bad frame image: \(bad)"), r.summary)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/manifest.json"), "an unfinished directory has no manifest")
    }
}
