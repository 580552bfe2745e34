import Core
import Foundation
import TestLauncher
import XCTest

/// cpae-mpi under a real (one-node) Slurm: srun's direct launch through PMIx, a failing rank, the
/// shipped job script cluster/train.sbatch, and a requeued job resuming. One cluster serves every
/// test of the class (started in `setUp()` of the class, about 1–3 s; stopped in its `tearDown()`).
///
/// Without root or without Slurm the tests cannot run: they fail with the reason when CI=true, and
/// are skipped with the reason elsewhere.
final class SlurmJobTests: XCTestCase {
    nonisolated(unsafe) private static var cluster: SlurmCluster?
    nonisolated(unsafe) private static var unavailable: String?
    nonisolated(unsafe) private static var workspace = ""

    override class func setUp() {
        super.setUp()
        do {
            cluster = try SlurmCluster.start()
        } catch {
            unavailable = "cannot start the test Slurm cluster: \(error)"
        }
        workspace = FileManager.default.temporaryDirectory.appendingPathComponent("cpae-mpi-slurm-jobs-\(getpid())").path
        try? FileManager.default.removeItem(atPath: workspace)
    }

    override class func tearDown() {
        cluster?.stop()
        cluster = nil
        try? FileManager.default.removeItem(atPath: workspace)
        super.tearDown()
    }

    /// The running cluster; fails the test (CI) or skips it (elsewhere) with the reason it is missing.
    private func slurm() throws -> SlurmCluster {
        if let cluster = Self.cluster { return cluster }
        let reason = Self.unavailable ?? "the test Slurm cluster is not running"
        if ProcessInfo.processInfo.environment["CI"] == "true" { throw SlurmCluster.StartError(description: reason) }
        throw XCTSkip(reason)
    }

    /// A tiny pendulum dataset (32 trajectories × 20 frames, 1×32×32), made once with `generate`.
    private static let dataset: String = {
        let data = workspace + "/data"
        let r = try! MPILauncher.runSingleton(["generate", "--system", "pendulum", "--trajectories", "32", "--frames", "20",
                                               "--size", "32", "--channels", "1", "--seed", "3", "--out", data, "--quiet"])
        precondition(r.exitCode == 0, r.summary)
        return data
    }()

    private func runDirectory(_ name: String) -> String { Self.workspace + "/runs/\(name)-\(UUID().uuidString.prefix(8))" }

    /// train-ae's flags shared by the srun/mpirun comparison and the failing rank.
    private func trainArguments(out: String, steps: Int, extra: [String] = []) -> [String] {
        ["train-ae", "--data", Self.dataset, "--preset", "small", "--global-batch", "16", "--steps", "\(steps)",
         "--seed", "7", "--out", out, "--progress-seconds", "1000", "--bn-recalibration", "2"] + extra
    }

    private func srun(_ cluster: SlurmCluster, ranks: Int, _ arguments: [String], options: [String] = [],
                      environment: [String: String] = [:], timeout: Double = 60) throws -> MPILauncher.Result {
        try cluster.run(["srun", "--mpi=pmix", "-n", "\(ranks)"] + options + [try MPILauncher.executable()] + arguments,
                        timeout: timeout, environment: environment)
    }

    private func selfTestReport(_ r: MPILauncher.Result) throws -> [String: Any] {
        let line = r.stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }) ?? ""
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], r.summary)
    }

    // MARK: - The cluster itself

    /// A second cluster, stopped while a job still runs: its daemons, the job's processes and its
    /// directory are gone afterwards (the first cluster, which the other tests use, keeps running).
    func testStoppedClusterLeavesNothingBehind() throws {
        _ = try slurm()
        let other = try SlurmCluster.start()
        defer { other.stop() }
        let submitted = try other.run(["sbatch", "--parsable", "--output", "/dev/null", "--wrap", "sleep 300"], timeout: 20)
        XCTAssertEqual(submitted.exitCode, 0, submitted.summary)
        let deadline = Date().addingTimeInterval(20)
        while other.processesOfThisCluster().isEmpty && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(other.processesOfThisCluster().isEmpty, "the job never started\n" + other.logs("slurmd.log"))
        let daemons = other.daemonPIDs
        XCTAssertEqual(daemons.count, 3)
        other.stop()
        for pid in daemons { XCTAssertEqual(kill(pid, 0), -1, "daemon \(pid) still runs") }
        XCTAssertEqual(other.processesOfThisCluster(), [], "the job's processes must be gone")
        XCTAssertFalse(FileManager.default.fileExists(atPath: other.directory), other.directory)
    }

    // MARK: - srun

    func testSelfTestPassesUnderSrun() throws {
        let cluster = try slurm()
        let r = try srun(cluster, ranks: 2, ["mpi-selftest", "--timing-repeats", "5"])
        XCTAssertEqual(r.exitCode, 0, r.summary)
        let report = try selfTestReport(r)
        XCTAssertEqual(report["ok"] as? Bool, true, r.summary)
        XCTAssertEqual(report["ranks"] as? Int, 2, "srun's two tasks form one MPI job\n" + r.summary)
        XCTAssertEqual(report["ranksOnNode0"] as? Int, 2, r.summary)
        XCTAssertEqual(report["failures"] as? [String], [], r.summary)
        XCTAssertFalse(r.stderr.contains("yield their core"), "a core each: the ranks busy-poll as under mpirun\n" + r.summary)
    }

    /// The same flags under srun and under mpirun give the same bytes: srun changes how the ranks
    /// start, not what they compute.
    func testSrunTrainingIsBitIdenticalToMpirun() throws {
        let cluster = try slurm()
        let (underSrun, underMpirun) = (runDirectory("srun"), runDirectory("mpirun"))
        let s = try srun(cluster, ranks: 2, trainArguments(out: underSrun, steps: 6), timeout: 120)
        XCTAssertEqual(s.exitCode, 0, s.summary)
        let m = try MPILauncher.runUnderMPI(ranks: 2, trainArguments(out: underMpirun, steps: 6), timeout: 120)
        XCTAssertEqual(m.exitCode, 0, m.summary)
        XCTAssertEqual(try SHA256.hexDigest(ofFile: underSrun + "/checkpoint.safetensors"),
                       try SHA256.hexDigest(ofFile: underMpirun + "/checkpoint.safetensors"),
                       "srun and mpirun checkpoints must be byte-identical")
        let steps = try JSONLines.read(MetricsRecord.self, from: underSrun + "/metrics.jsonl").map { $0.step }
        XCTAssertEqual(steps, Array(1...6), s.summary)
    }

    /// A rank that fails under srun ends the job promptly with its message and a non-zero exit.
    func testFailingRankEndsTheSrunJob() throws {
        let cluster = try slurm()
        let r = try srun(cluster, ranks: 2, trainArguments(out: runDirectory("fail"), steps: 50,
                                                           extra: ["--debug-fail-rank", "1", "--debug-at-step", "2"]),
                         timeout: 60)
        XCTAssertFalse(r.timedOut, r.summary)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("rank 1") && r.stderr.contains("injected failure"), r.summary)
        XCTAssertLessThan(r.seconds, 20, "the job must end soon after the failure, not run its 50 steps or hang\n" + r.summary)
    }

    /// A rank killed by SIGKILL (as by the OOM killer) while the other waits in an allreduce: Slurm's
    /// PMIx plugin sees the task die and cancels the step; nothing hangs.
    func testKilledRankEndsTheSrunJob() throws {
        let cluster = try slurm()
        let r = try srun(cluster, ranks: 2, ["mpi-selftest", "--crash-rank", "1", "--fail-after-seconds", "0.5"], timeout: 60)
        XCTAssertFalse(r.timedOut, r.summary)
        XCTAssertNotEqual(r.exitCode, 0, r.summary)
        XCTAssertTrue(r.stderr.contains("rank 1: provoked crash"), r.summary)
        XCTAssertLessThan(r.seconds, 10, "the job must end within 10 s of the kill\n" + r.summary)
    }

    /// Two ranks bound to ONE core: ranks that busy-poll there wait for the scheduler in every
    /// collective (measured ~16 ms per allreduce of 1.3 M floats: the negative control, run with the
    /// user's explicit mpi_yield_when_idle=0); cpae-mpi sees the shared core in srun's binding and
    /// makes them yield (~1.6 ms; 256 floats in microseconds). docs/cluster.md §Transport.
    func testRanksSharingACoreUnderSrunYield() throws {
        let cluster = try slurm()
        let oneCore = ["--cpu-bind=map_cpu:0,0"]
        let yielding = try srun(cluster, ranks: 2, ["mpi-selftest", "--timing-repeats", "9"], options: oneCore)
        XCTAssertEqual(yielding.exitCode, 0, yielding.summary)
        let spinning = try srun(cluster, ranks: 2, ["mpi-selftest", "--timing-repeats", "9"], options: oneCore,
                                environment: ["OMPI_MCA_mpi_yield_when_idle": "0"])
        XCTAssertEqual(spinning.exitCode, 0, spinning.summary)
        let (fast, slow) = (try selfTestReport(yielding), try selfTestReport(spinning))
        let fastLarge = try XCTUnwrap(fast["timedAllreduceMedianSeconds"] as? Double)
        let slowLarge = try XCTUnwrap(slow["timedAllreduceMedianSeconds"] as? Double)
        let fastSmall = try XCTUnwrap(fast["smallAllreduceMedianSeconds"] as? Double)
        XCTAssertGreaterThan(slowLarge, 3 * fastLarge, "busy-polling ranks on one core must be several times slower than "
                             + "yielding ones (\(slowLarge) s against \(fastLarge) s per allreduce)\n" + yielding.summary + "\n" + spinning.summary)
        XCTAssertLessThan(fastSmall, 0.5e-3, "256 floats between two yielding ranks on one core\n" + yielding.summary)
        XCTAssertTrue(yielding.stderr.contains("srun started 2 rank(s) on this node, which may run on 1 CPU(s)")
                      && yielding.stderr.contains("ranks yield their core"), "rank 0 says why\n" + yielding.summary)
        XCTAssertFalse(spinning.stderr.contains("yield their core"), "the user's setting wins\n" + spinning.summary)
    }

    // MARK: - sbatch and the job script

    private static let template: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("cluster/train.sbatch").path

    /// sbatch of cluster/train.sbatch with small train-ae arguments; returns the job id.
    private func submit(_ cluster: SlurmCluster, out: String, steps: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: Self.workspace + "/jobs", withIntermediateDirectories: true)
        let r = try cluster.run(["sbatch", "--parsable", "--chdir", Self.workspace + "/jobs",
                                 "--output", Self.workspace + "/jobs/job-%j.out", "--nodes", "1", "--ntasks-per-node", "2",
                                 Self.template, "--data", Self.dataset, "--out", out, "--preset", "small",
                                 "--global-batch", "16", "--steps", "\(steps)", "--seed", "11", "--progress-seconds", "1000",
                                 "--bn-recalibration", "2"],
                                timeout: 30, environment: ["CPAE_MPI": try MPILauncher.executable(), "CHECKPOINT_EVERY": "3"])
        XCTAssertEqual(r.exitCode, 0, r.summary)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw SlurmCluster.StartError(description: "sbatch gave no job id\n" + r.summary) }
        return id
    }

    /// `scontrol show job` as key → value.
    private func jobState(_ cluster: SlurmCluster, _ id: String) throws -> [String: String] {
        let r = try cluster.run(["scontrol", "-o", "show", "job", id], timeout: 10)
        guard r.exitCode == 0 else { return [:] }
        var fields: [String: String] = [:]
        for pair in r.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if let equals = pair.firstIndex(of: "=") { fields[String(pair[..<equals])] = String(pair[pair.index(after: equals)...]) }
        }
        return fields
    }

    private static let ended: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED"]

    /// Waits (at most `seconds`) until the job has ended; returns its final scontrol fields.
    private func waitForEnd(_ cluster: SlurmCluster, _ id: String, seconds: Double = 90) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let state = try jobState(cluster, id)
            if let s = state["JobState"], Self.ended.contains(s) {
                return state
            }
            usleep(200_000)
        }
        throw SlurmCluster.StartError(description: "job \(id) did not end within \(seconds) s: \(try jobState(cluster, id))\n"
            + jobOutput(id))
    }

    private func jobOutput(_ id: String) -> String {
        FileManager.default.contents(atPath: Self.workspace + "/jobs/job-\(id).out").map { String(decoding: $0, as: UTF8.self) } ?? "(no output file)"
    }

    /// The template's run to the end, once per process: the reference for the requeue test.
    nonisolated(unsafe) private static var uninterrupted: (id: String, out: String)?
    private static let referenceSteps = 18  // 15 steps left after the first checkpoint: time to requeue

    private func uninterruptedRun(_ cluster: SlurmCluster) throws -> (id: String, out: String) {
        if let done = Self.uninterrupted { return done }
        let out = runDirectory("sbatch")
        let id = try submit(cluster, out: out, steps: Self.referenceSteps)
        let state = try waitForEnd(cluster, id)
        XCTAssertEqual(state["JobState"], "COMPLETED", jobOutput(id))
        XCTAssertEqual(state["ExitCode"], "0:0", jobOutput(id))
        Self.uninterrupted = (id, out)
        return (id, out)
    }

    func testJobScriptTrainsToTheEnd() throws {
        let cluster = try slurm()
        let (id, out) = try uninterruptedRun(cluster)
        let output = jobOutput(id)
        XCTAssertTrue(output.contains("cpae-train: job \(id)") && output.contains("2 ranks × 1 threads, restart 0"), output)
        XCTAssertTrue(output.contains("wrote \(out)/checkpoint.safetensors"), output)
        XCTAssertFalse(output.contains("resuming at step"), "a fresh run directory starts at step 0\n" + output)
        let metrics = try JSONLines.read(MetricsRecord.self, from: out + "/metrics.jsonl")
        XCTAssertEqual(metrics.map { $0.step }, Array(1...Self.referenceSteps), output)
        XCTAssertTrue(metrics.allSatisfy { $0.loss.isFinite }, output)
        let config = try String(contentsOfFile: out + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"checkpointEvery\" : 3"), "the template's CHECKPOINT_EVERY reached train-ae\n" + config)
        let (_, meta) = try Autoencoder.load(checkpoint: out + "/checkpoint.safetensors")
        XCTAssertNotNil(meta["training_state"], "the checkpoint records its step")
    }

    /// A job requeued after its first checkpoint runs the script again (same id, same arguments)
    /// and `--resume` continues from that checkpoint: the log says where, the metrics read as one
    /// run, and the final checkpoint is byte-identical to the uninterrupted run's.
    func testRequeuedJobResumesFromItsCheckpoint() throws {
        let cluster = try slurm()
        let reference = try uninterruptedRun(cluster)
        let out = runDirectory("requeue")
        let id = try submit(cluster, out: out, steps: Self.referenceSteps)
        let checkpoint = out + "/checkpoint.safetensors"
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: checkpoint) {
            guard Date() < deadline, try jobState(cluster, id)["JobState"].map({ ["PENDING", "RUNNING"].contains($0) }) ?? true else {
                return XCTFail("no first checkpoint while the job ran\n" + jobOutput(id))
            }
            usleep(20_000)
        }
        let requeue = try cluster.run(["scontrol", "requeue", id], timeout: 10)
        XCTAssertEqual(requeue.exitCode, 0, "the job ended before it could be requeued?\n" + requeue.summary + jobOutput(id))
        // Slurm holds a requeued job for its credential lifetime (cred_expire, 120 s) before it may
        // start again; once it is back in the queue, the test lets it start now, as the scheduler
        // would after the hold.
        let queued = Date().addingTimeInterval(30)
        while Date() < queued {
            let now = try jobState(cluster, id)
            if now["JobState"] == "RUNNING" || Self.ended.contains(now["JobState"] ?? "") { break }
            if now["JobState"] == "PENDING" && now["Reason"] == "BeginTime" {
                let release = try cluster.run(["scontrol", "update", "JobId=\(id)", "StartTime=now"], timeout: 10)
                XCTAssertEqual(release.exitCode, 0, release.summary)
            }
            usleep(200_000)
        }
        let state = try waitForEnd(cluster, id)
        let output = jobOutput(id)
        XCTAssertEqual(state["JobState"], "COMPLETED", output)
        XCTAssertEqual(state["Restarts"], "1", output)
        XCTAssertTrue(output.contains("restart 0") && output.contains("restart 1"), "the script ran twice\n" + output)

        let resumedAt = output.components(separatedBy: "resuming at step ").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) }
        let step = try XCTUnwrap(resumedAt, "the requeued run must resume from the checkpoint\n" + output)
        XCTAssertTrue(step >= 3 && step < Self.referenceSteps && step % 3 == 0,
                      "resumed from a checkpoint of the first run (every 3 steps), not from scratch or the end: \(step)\n" + output)
        let metrics = try JSONLines.read(MetricsRecord.self, from: out + "/metrics.jsonl")
        XCTAssertEqual(metrics.map { $0.step }, Array(1...Self.referenceSteps), "the step counter continues\n" + output)
        XCTAssertEqual(try SHA256.hexDigest(ofFile: checkpoint),
                       try SHA256.hexDigest(ofFile: reference.out + "/checkpoint.safetensors"),
                       "requeued and resumed, the run ends where the uninterrupted one did\n" + output)
    }
}
