import Foundation
import XCTest
@testable import Core

/// Seeded mutation fuzzing of a whole shard: every mutated file must either read back exactly the
/// original trajectories or throw a DatasetError — never crash, hang, allocate wildly or return
/// different data.
final class ShardFuzzTests: XCTestCase {
    func testRandomMutationsGiveValidReadsOrErrors() throws {
        let dir = makeTemporaryDirectory("fuzz")
        defer { removeDirectory(dir) }
        let seqs = try writeTestDataset(dir, count: 4, perShard: 4, frames: 6, height: 8, width: 8)
        let reader = try DatasetReader(directory: dir)
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + reader.manifest.shards[0].file)))
        let headerEnd = 8 + Int(ByteReader(original).u32(4))
        let path = dir + "/mutant.bin"
        var rng = RNG(seed: 20261125)
        var outcomes: [String: Int] = [:]
        // Debug builds run ~25× slower; release (how CI runs tests) takes ~2–5 s.
        #if DEBUG
        let iterations = 1500
        #else
        let iterations = 6000
        #endif
        let start = Date()
        for iteration in 0..<iterations {
            var b = original
            // Half the mutations target the header frame, the rest anywhere (frames, seek table).
            func position() -> Int {
                rng.next() % 2 == 0 ? Int(rng.next() % UInt64(headerEnd)) : Int(rng.next() % UInt64(b.count))
            }
            let kind = rng.next() % 6
            switch kind {
            case 0: let p = position(); b[p] ^= UInt8(1 << (rng.next() % 8))                  // bit flip
            case 1: for _ in 0..<(1 + rng.next() % 8) { let p = position(); b[p] = UInt8(truncatingIfNeeded: rng.next()) }
            case 2: b.removeLast(1 + Int(rng.next() % UInt64(b.count - 1)))                     // truncation
            case 3: let p = position(); b.insert(contentsOf: (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: p)
            case 4: let p = position(); b.removeSubrange(p..<min(b.count, p + 1 + Int(rng.next() % 16)))
            default: let p = position() & ~3; if p + 4 <= b.count {                           // 32-bit field set to an extreme
                b.replaceSubrange(p..<(p + 4), with: ByteWriter.le32([0, 1, .max, 1 << 31, 1 << 20][Int(rng.next() % 5)])) }
            }
            try Data(b).write(to: URL(fileURLWithPath: path))
            do {
                let shard = try ShardReader(path: path)
                var allRead = true
                for i in 0..<shard.trajectoryCount {
                    do {
                        let s = try shard.trajectory(at: i)
                        // Whatever survives the checks must be exactly what was written.
                        guard let o = seqs.first(where: { $0.id == s.id }) else {
                            XCTFail("iteration \(iteration): read unknown trajectory id \(s.id)"); continue
                        }
                        XCTAssertEqual(s.frames, o.frames, "iteration \(iteration) (mutation \(kind)) returned altered frames")
                        XCTAssertEqual(s.states, o.states, "iteration \(iteration) (mutation \(kind)) returned altered states")
                    } catch let e as DatasetError {
                        allRead = false
                        outcomes["frame: \(e.kind.rawValue)", default: 0] += 1
                        XCTAssertTrue(e.message.contains("mutant.bin"), e.message)
                    }
                }
                if allRead { outcomes["valid read", default: 0] += 1 }
            } catch let e as DatasetError {
                outcomes["open: \(e.kind.rawValue)", default: 0] += 1
                XCTAssertTrue(e.message.contains("mutant.bin"), e.message)
            }
        }
        let seconds = Date().timeIntervalSince(start)
        print("ShardFuzzTests: \(iterations) mutants in \(String(format: "%.1f", seconds)) s: \(outcomes.sorted { $0.key < $1.key })")
        // The fuzzer must actually exercise the error paths, not just leave the file intact.
        XCTAssertGreaterThan(outcomes.filter { $0.key != "valid read" }.values.reduce(0, +), iterations * 3 / 4)
        XCTAssertGreaterThan(outcomes["open: headerCorrupted", default: 0], 100)
        XCTAssertGreaterThan(outcomes.filter { $0.key.hasPrefix("frame:") }.values.reduce(0, +), 50)
    }

    /// The same for manifest.json: a mutated manifest opens (and then reads the original data) or
    /// throws a DatasetError.
    func testRandomManifestMutationsGiveValidReadsOrErrors() throws {
        let dir = makeTemporaryDirectory("fuzzmanifest")
        defer { removeDirectory(dir) }
        let seqs = try writeTestDataset(dir, count: 5, perShard: 2, frames: 6, height: 4, width: 4)
        let path = dir + "/manifest.json"
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = RNG(seed: 7)
        var opened = 0, failed = 0
        for _ in 0..<600 {
            var b = original
            for _ in 0..<(1 + rng.next() % 3) {
                let p = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[p] = Array("0123456789-,:[]{}\" e".utf8)[Int(rng.next() % 18)]   // JSON-ish bytes
                case 1: b.remove(at: p)
                default: b.insert(Array("9-,0".utf8)[Int(rng.next() % 4)], at: p)
                }
            }
            try Data(b).write(to: URL(fileURLWithPath: path))
            do {
                let r = try DatasetReader(directory: dir)
                for id in r.trajectoryIDs {
                    XCTAssertEqual(try r.trajectory(id: id).frames, seqs.first { $0.id == id }?.frames)
                }
                _ = DatasetSummary(reader: r, verified: false).text
                opened += 1
            } catch is DatasetError {
                failed += 1
            }
        }
        XCTAssertGreaterThan(failed, 300)
        XCTAssertGreaterThan(opened, 0)
    }
}
