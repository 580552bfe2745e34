import ArgumentParser
import Bench
import Core
import Distributed
import Foundation

struct BenchDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Data-path throughput on one core: shard decode + batch assembly, compression ratio, peak memory.",
        discussion: """
            Builds a synthetic pendulum-like dataset (rod + disk on the (215,205,192) background) in a temporary \
            directory, then times zstd decoding and the batch loader (no prefetch thread) with a cache of 25% of \
            the trajectories, no cache, and all cached. frames_per_second counts 2 frames per window (one \
            training sample ≈ 2 frames); the floor is 20× what one core trains on at the paper preset \
            (~60 frames/s → 1,200 frames/s). Then, for each of --ranks, mpirun runs the same loader on every rank \
            at once, each over its own share of the dataset (1 core per rank), and reports each rank's frames/s: \
            ranks per node × frames/s per rank is the read-and-decode rate a node must sustain.
            """)

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Option(help: "Frames per trajectory.")
    var frames = 60

    @Option(help: "Frame side in pixels (frames are 3×size×size).")
    var size = 128

    @Option(help: "Number of synthetic trajectories.")
    var trajectories = 64

    @Option(help: "Windows per batch.")
    var batch = 16

    @Option(help: "Timed repeats per measurement (the median is reported).")
    var repeats = 5

    @Option(help: "zstd compression level of the shards.")
    var level: Int32 = 3

    @Option(help: "Keep the synthetic dataset in this (new) directory instead of a temporary one.")
    var output: String?

    @Option(help: "Comma-separated rank counts for the per-rank loader rates under mpirun (empty: skip).")
    var ranks = "1,2"

    @Option(help: "Extra arguments for mpirun, space-separated (--mpirun-args='--oversubscribe').")
    var mpirunArgs = "--oversubscribe"

    @Option(help: "Longest wait for a quiet machine before each mpirun launch, seconds (0: don't wait).")
    var quietWait = 10.0

    /// Set by `bench data` on the ranks it launches: run one rank's share of the loader on this dataset.
    @Option(name: .customLong("rank-worker"), help: .hidden)
    var rankWorker: String?

    func rankCounts() throws -> [Int] {
        try ranks.split(separator: ",").map { s in
            guard let n = Int(s), n >= 1 else { throw ValidationError("--ranks: '\(s)' is not a positive integer") }
            return n
        }
    }

    func validate() throws {
        guard frames >= 4 else { throw ValidationError("--frames must be ≥ 4 (one window needs frames t…t+3)") }
        guard (8...2048).contains(size) else { throw ValidationError("--size must be in 8…2048") }
        guard trajectories >= 1, batch >= 1, repeats >= 1 else {
            throw ValidationError("--trajectories, --batch and --repeats must be ≥ 1")
        }
        _ = try rankCounts()
    }

    /// One rank's share, printed as one JSON line by rank 0.
    private func runRankWorker(_ directory: String) {
        Communicator.runOrAbort { comm in
            var worker = DataRankWorker(directory: directory)
            worker.localBatch = batch; worker.repeats = repeats
            if let r = try worker.run(comm) { print(String(decoding: try JSONEncoder().encode(r), as: UTF8.self)) }
        }
    }

    private func launchRanks(_ n: Int, directory: String) throws -> DataRankWorker.Result {
        var timer = GuardedTimer()
        timer.maxQuietWait = quietWait
        timer.waitForQuiet()
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        let args = ["mpirun"] + mpirunArgs.split(separator: " ").map(String.init)
            + ["-np", "\(n)", ChildMeasurement.executable, "bench", "data", "--rank-worker", directory,
               "--batch", "\(batch)", "--repeats", "\(repeats)"]
        return try ChildMeasurement.run(DataRankWorker.Result.self, executable: "/usr/bin/env", arguments: args,
                                        environment: env, what: "the \(n)-rank data loader run")
    }

    func run() throws {
        if let rankWorker { return runRankWorker(rankWorker) }
        var bench = DataBenchmark()
        bench.frames = frames; bench.size = size; bench.trajectories = trajectories
        bench.localBatch = batch; bench.repeats = repeats; bench.compressionLevel = level
        let directory = output ?? NSTemporaryDirectory() + "cpae-bench-data-\(ProcessInfo.processInfo.processIdentifier)"
        defer { if output == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var r = try bench.run(directory: directory) { if !json { print("…", $0) } }
        let counts = try rankCounts()
        if !counts.isEmpty {
            if !json { print("… the loader on every rank at once under mpirun: np \(counts.map(String.init).joined(separator: ", "))") }
            r.per_rank = try counts.map { try launchRanks($0, directory: directory) }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(r), as: UTF8.self))
            return
        }
        func f(_ x: Double) -> String { String(format: "%.0f", x) }
        print("""
            data path, 1 core, \(r.trajectories) trajectories × \(r.frames_per_trajectory) frames of 3×\(r.size)×\(r.size), batch \(r.local_batch), median of \(r.repeats)
              loader, cache 25%      \(f(r.frames_per_second)) frames/s (\(f(r.samples_per_second)) windows/s)   floor \(f(r.floor_frames_per_second)): \(r.meets_floor ? "OK" : "BELOW")
              loader, no cache       \(f(r.worst_case_frames_per_second)) frames/s (every window decodes its trajectory)
              loader, all cached     \(f(r.assembly_only_frames_per_second)) frames/s (batch assembly only)
              zstd decode            \(f(r.decode_frames_per_second)) frames/s (\(f(r.decode_megabytes_per_second)) MB/s)
              write (draw+zstd+hash) \(f(r.write_frames_per_second)) frames/s;  open+validate \(String(format: "%.1f", r.open_validate_milliseconds)) ms;  verify \(f(r.verify_megabytes_per_second)) MB/s
              compression            \(String(format: "%.1f", r.compression_ratio))× (\(f(r.bytes_per_frame_compressed)) B/frame, \(r.compressed_bytes) of \(r.raw_bytes) bytes)
              peak RSS               \(r.loader_peak_rss_bytes.map { String(format: "%.1f MB while loading (25%% cache / none), ", Double($0) / 1e6) } ?? "")\(String(format: "%.1f", Double(r.peak_rss_bytes) / 1e6)) MB overall (all-cached run holds every trajectory)
              timing blocks retried for other load: \(r.retried_blocks)
            """)
        for p in r.per_rank ?? [] {
            print("  np \(p.ranks), loader on every rank (cache 25%): " + p.frames_per_second_per_rank.map(f).joined(separator: ", ")
                  + " frames/s per rank; slowest \(f(p.slowest_frames_per_second)), all \(f(p.total_frames_per_second))")
        }
    }
}
