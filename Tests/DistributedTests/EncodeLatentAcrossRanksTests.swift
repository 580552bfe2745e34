import Core
import Foundation
import TestLauncher
import XCTest

/// `cpae-mpi encode` on one rank and under mpirun: the same latent files bit for bit, 59 latents per
/// 60-frame trajectory, equal to the eval-mode encoder applied in-process, and a refused re-run.
final class EncodeLatentAcrossRanksTests: XCTestCase {
    /// 8 pendulum trajectories × 60 frames (1×32×32) in shards of 3 (so 2 ranks get unequal shares:
    /// shards 0, 2 and shard 1), and a 3-step train-ae run on it; made once per process.
    private static let fixture: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-encode-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        let g = try! MPILauncher.runSingleton(["generate", "--system", "pendulum", "--trajectories", "8", "--frames", "60",
                                               "--size", "32", "--channels", "1", "--seed", "5", "--shard-size", "3",
                                               "--out", dir + "/data", "--quiet"])
        precondition(g.exitCode == 0, g.summary)
        let t = try! MPILauncher.runSingleton(["train-ae", "--data", dir + "/data", "--preset", "small", "--global-batch", "8",
                                               "--steps", "3", "--seed", "1", "--out", dir + "/run", "--progress-seconds", "1000"],
                                              timeout: 120)
        precondition(t.exitCode == 0, t.summary)
        return dir
    }()

    private var run: String { Self.fixture + "/run" }

    private func files(_ directory: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return out
    }

    func testTwoRanksWriteTheSameLatentsAsOne() throws {
        let one = Self.fixture + "/latents-np1", two = Self.fixture + "/latents-np2"
        let r1 = try MPILauncher.runSingleton(["encode", "--run", run, "--out", one, "--batch", "50"], timeout: 120)
        XCTAssertEqual(r1.exitCode, 0, r1.summary)
        XCTAssertTrue(r1.stdout.contains("pairs/s") && r1.stdout.contains("trajectories/s"), r1.summary)
        let r2 = try MPILauncher.runUnderMPI(ranks: 2, ["encode", "--run", run, "--out", two, "--batch", "50"], timeout: 120)
        XCTAssertEqual(r2.exitCode, 0, r2.summary)

        let a = try files(one), b = try files(two)
        XCTAssertEqual(Set(a.keys), [LatentManifest.fileName, "latents-00000.cpz", "latents-00001.cpz", "latents-00002.cpz"])
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, bytes) in a { XCTAssertTrue(bytes == b[name], "\(name) differs between 1 and 2 ranks") }

        let latents = try LatentDataset(directory: two, verifyDigests: true)
        let frames = try DatasetReader(directory: Self.fixture + "/data")
        XCTAssertEqual(latents.trajectories.count, 8)
        XCTAssertEqual(Set(latents.trajectories.map(\.id)), Set(frames.trajectoryIDs))
        XCTAssertTrue(latents.trajectories.allSatisfy { $0.count == 59 && $0.latents.count == 59 * latents.dimension })
        XCTAssertEqual(latents.latentsPerTrajectory, 59)
        XCTAssertEqual(latents.dt, frames.description.dt)
        XCTAssertEqual(latents.stateNames, frames.description.stateNames)
        XCTAssertEqual(latents.splits, frames.splits)
        let m = latents.manifest
        XCTAssertEqual(m.autoencoder.checkpointSHA256, try SHA256.hexDigest(ofFile: run + "/checkpoint.safetensors"))
        XCTAssertEqual(m.dataset.fingerprint, SHA256.hex(frames.fingerprint))
        XCTAssertEqual(latents.pairStarts(of: .train).count, frames.splits.train.count * 58)

        // The eval-mode encoder in-process on every pair of one trajectory gives the same latents
        // (another batch composition: equal to float rounding, not necessarily bit for bit).
        let (model, _) = try Autoencoder.load(checkpoint: run + "/checkpoint.safetensors")
        let id = frames.trajectoryIDs[4]
        let z = model.encode(try frames.pairs(trajectoryID: id), mode: .eval)
        let stored = latents.trajectory(id: id)!
        var worst: Float = 0
        for i in 0..<z.count { worst = max(worst, abs(z.data[i] - stored.latents[i]) / max(1, abs(stored.latents[i]))) }
        XCTAssertLessThan(worst, 1e-5, "stored latents are not the encoder's output for pairs (t, t+1)")
        let sequence = try frames.trajectory(id: id)
        XCTAssertEqual(stored.states, Array(sequence.states.prefix(59 * sequence.stateDimension)), "state of each latent's first frame")
    }

    func testExistingLatentsAreRefusedWithoutOverwrite() throws {
        let out = Self.fixture + "/latents-again"
        let first = try MPILauncher.runSingleton(["encode", "--run", run, "--out", out], timeout: 120)
        XCTAssertEqual(first.exitCode, 0, first.summary)
        let before = try files(out)
        let again = try MPILauncher.runUnderMPI(ranks: 2, ["encode", "--run", run, "--out", out], timeout: 120)
        XCTAssertNotEqual(again.exitCode, 0, again.summary)
        XCTAssertTrue(again.stderr.contains("already holds latents") && again.stderr.contains("--overwrite"), again.summary)
        XCTAssertEqual(try files(out), before, "a refused run leaves the latents as they were")
        let replaced = try MPILauncher.runUnderMPI(ranks: 2, ["encode", "--run", run, "--out", out, "--overwrite"], timeout: 120)
        XCTAssertEqual(replaced.exitCode, 0, replaced.summary)
        XCTAssertEqual(try files(out), before, "the same checkpoint and data encode to the same bytes")
    }

    func testAMissingRunDirectoryIsNamed() throws {
        let r = try MPILauncher.runSingleton(["encode", "--run", Self.fixture + "/no-such-run"])
        XCTAssertNotEqual(r.exitCode, 0)
        XCTAssertTrue(r.stderr.contains("no-such-run/config.json not found") && r.stderr.contains("train-ae"), r.summary)
    }
}
