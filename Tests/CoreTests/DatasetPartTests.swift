import Foundation
import XCTest
@testable import Core

/// Several writers, one per `DatasetPart`, write the same directory as one writer alone: the shard
/// files and the manifest are the same bytes (the in-process half of the ranks' `generate`/`ingest`;
/// DatasetPreparationAcrossRanksTests runs the commands under mpirun).
final class DatasetPartTests: XCTestCase {
    private let d = DatasetDescription(system: "test/sys", frameCount: 7, height: 5, width: 6, channels: 3, dt: 0.1, stateNames: ["a", "b"])
    private let count = 11, perShard = 3   // 4 shards, the last one short
    private var splits: DatasetSplits { DatasetSplits(train: Array(0..<8), validation: [8, 9], test: [10]) }

    private func files(_ directory: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            out[name] = FileManager.default.contents(atPath: directory + "/" + name)
        }
        return out
    }

    func testShardsOfEachPart() {
        XCTAssertEqual(DatasetPart.shardCount(trajectories: 11, perShard: 3), 4)
        XCTAssertEqual(DatasetPart.trajectories(ofShard: 3, trajectories: 11, perShard: 3), 9..<11)
        let part = DatasetPart(rank: 1, of: 3)
        XCTAssertEqual(Array(part.shards(trajectories: 11, perShard: 3)), [1])
        XCTAssertEqual(Array(DatasetPart(rank: 0, of: 3).shards(trajectories: 11, perShard: 3)), [0, 3])
        XCTAssertEqual(part.rounds(trajectories: 11, perShard: 3), 2)
        XCTAssertEqual(part.shard(inRound: 0, trajectories: 11, perShard: 3), 1)
        XCTAssertNil(part.shard(inRound: 1, trajectories: 11, perShard: 3))
    }

    func testPartsWriteTheBytesOfOneWriter() throws {
        let whole = makeTemporaryDirectory("part-whole"), parted = makeTemporaryDirectory("part-3")
        defer { removeDirectory(whole); removeDirectory(parted) }
        let w = try DatasetWriter(directory: whole, description: d, trajectoriesPerShard: perShard)
        for id in 0..<count { try w.append(testTrajectory(id: id)) }
        try w.finish(splits: splits)

        try DatasetWriter.prepare(directory: parted)
        var written: [DatasetPart.WrittenShard] = []
        for rank in [2, 0, 1] {   // any order: each part's bytes depend only on its shards
            let part = DatasetPart(rank: rank, of: 3)
            let pw = try DatasetWriter(directory: parted, description: d, trajectoriesPerShard: perShard, part: part)
            for shard in part.shards(trajectories: count, perShard: perShard) {
                for id in DatasetPart.trajectories(ofShard: shard, trajectories: count, perShard: perShard) {
                    try pw.append(testTrajectory(id: id))
                }
            }
            written += try pw.finishPart()
        }
        try DatasetWriter.writeManifest(directory: parted, description: d, splits: splits, compressionLevel: 3, shards: written)
        let a = try files(whole), b = try files(parted)
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        XCTAssertEqual(a.count, 5, "4 shards and the manifest")
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], name) }
        _ = try DatasetReader(directory: parted)
    }

    /// A part must get its own shards' ids, and the manifest needs every shard.
    func testMisuseIsNamed() throws {
        let dir = makeTemporaryDirectory("part-misuse")
        defer { removeDirectory(dir) }
        try DatasetWriter.prepare(directory: dir)
        let pw = try DatasetWriter(directory: dir, description: d, trajectoriesPerShard: perShard, part: DatasetPart(rank: 1, of: 2))
        XCTAssertThrowsError(try pw.append(testTrajectory(id: 0))) {
            XCTAssertTrue("\($0)".contains("rank 1 of 2 got trajectory 0 where shard 1 needs trajectory 3"), "\($0)")
        }
        for id in 3..<6 { try pw.append(testTrajectory(id: id)) }
        let mine = try pw.finishPart()
        XCTAssertEqual(mine.map(\.index), [1])
        XCTAssertThrowsError(try DatasetWriter.writeManifest(directory: dir, description: d, splits: DatasetSplits(train: [3], validation: [], test: []),
                                                             compressionLevel: 3, shards: mine)) {
            XCTAssertTrue("\($0)".contains("the parts wrote shards [1], expected 0..<1"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + Manifest.fileName))
    }
}
