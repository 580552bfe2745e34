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
        XCTAssertLessThan(seconds, 20)
        // The fuzzer must actually exercise the error paths, not just leave the file intact.
        XCTAssertGreaterThan(outcomes.filter { $0.key != "valid read" }.values.reduce(0, +), iterations * 3 / 4)
        XCTAssertGreaterThan(outcomes["open: headerCorrupted", default: 0], 100)
        XCTAssertGreaterThan(outcomes.filter { $0.key.hasPrefix("frame:") }.values.reduce(0, +), 50)
    }
}
