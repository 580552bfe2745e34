import Core
import Foundation

/// `cpae-mpi bench data`: throughput of the data path on one core (no prefetch thread), on a
/// synthetic pendulum dataset. Timings are medians of repeated blocks; a block is repeated when other
/// processes used more than 0.1 core during it (docs/machines.md §Timing: shared machines skew timings 2–5×).
/// TODO(lead): switch to the shared GuardedTimer in Sources/Core/Bench once it is merged.
public struct DataBenchmark {
    public struct Result: Codable, Sendable {
        /// Headline: frames per second through decode + batch assembly, realistic cache (25% of the
        /// dataset, random windows). Counted as 2 frames per window, the convention of the floor
        /// (~30 samples/s ≈ 60 frames/s per core at the paper preset).
        public var frames_per_second: Double
        public var samples_per_second: Double
        /// Same path with no cache: every window decompresses its whole trajectory (worst case).
        public var worst_case_frames_per_second: Double
        /// Same path with every trajectory cached: batch assembly (uint8 HWC → Float NCHW pairs) alone.
        public var assembly_only_frames_per_second: Double
        /// zstd decompression alone, frames of the shard per second.
        public var decode_frames_per_second: Double
        public var decode_megabytes_per_second: Double
        /// Drawing + writing the dataset (zstd compression + SHA-256 + fsync), frames per second.
        public var write_frames_per_second: Double
        public var open_validate_milliseconds: Double
        public var verify_megabytes_per_second: Double
        public var compression_ratio: Double
        public var compressed_bytes: Int64
        public var raw_bytes: Int64
        public var bytes_per_frame_compressed: Double
        /// Whole process, including the all-cached scenario (which holds every trajectory on purpose).
        public var peak_rss_bytes: Int64
        /// Peak while running the loader with the 25% cache and with none (nil if the peak could not be reset).
        public var loader_peak_rss_bytes: Int64?
        public var trajectories: Int
        public var frames_per_trajectory: Int
        public var total_frames: Int
        public var size: Int
        public var local_batch: Int
        public var repeats: Int
        public var retried_blocks: Int
        public var floor_frames_per_second: Double
        public var meets_floor: Bool
        /// The same loader at each rank count under mpirun, every rank on its share at once
        /// (`DataRankWorker`; filled in by `bench data`, nil when not run).
        public var per_rank: [DataRankWorker.Result]?
    }

    // 64 trajectories and batches of 16: about as few repeated trajectories per batch (~10%) as the
    // paper preset (960 trajectories, 512 windows over 2 ranks), so the loader's per-batch grouping
    // is not flattered by a tiny dataset.
    public var trajectories = 64
    public var frames = 60
    public var size = 128
    public var localBatch = 16
    public var repeats = 5
    public var compressionLevel: Int32 = 3

    public init() {}

    public func run(directory: String, log: (String) -> Void = { _ in }) throws -> Result {
        var retried = 0
        log("writing \(trajectories) synthetic trajectories of \(frames) frames 3×\(size)×\(size) to \(directory)")
        let writeSeconds = try Self.timeOnce {
            let d = DatasetDescription(system: "bench_pendulum", frameCount: frames, height: size, width: size, channels: 3,
                                       dt: 0.05, stateNames: ["theta", "omega"])
            let w = try DatasetWriter(directory: directory, description: d, trajectoriesPerShard: 8, compressionLevel: compressionLevel)
            for id in 0..<trajectories { try w.append(SyntheticPendulum.trajectory(id: id, frames: frames, size: size, seed: 1)) }
            try w.finish(splits: DatasetSplits(train: Array(0..<trajectories), validation: [], test: []))
        }
        var reader: DatasetReader!
        let openSeconds = try Self.timeOnce { reader = try DatasetReader(directory: directory) }
        let totalFrames = trajectories * frames
        let raw = Int64(totalFrames) * Int64(3 * size * size)

        log("decode: every trajectory, \(repeats) repeats")
        let ctx = DecompressionContext()
        let decode = try Self.medianTime(repeats, &retried) {
            for id in reader.trajectoryIDs { _ = try reader.trajectory(id: id, context: ctx) }
        }
        let verifySeconds = try Self.timeOnce { _ = try reader.verify() }

        func loaderRate(_ cache: CacheCapacity, batches: Int) throws -> Double {
            let loader = try BatchLoader(reader: reader, split: .train, rank: 0, worldSize: 1, localBatch: localBatch, seed: 1,
                                         cacheCapacity: cache, prefetch: 0)
            // Warm the cache to its steady state before timing.
            for _ in 0..<min(batches, loader.stepsPerEpoch) { _ = try loader.nextBatch() }
            let t = try Self.medianTime(repeats, &retried) { for _ in 0..<batches { _ = try loader.nextBatch() } }
            return Double(batches * localBatch) / t
        }
        log("batch loader: realistic cache (25%), no cache, full cache")
        // Peak memory of the training configuration alone: reset the high-water mark first
        // (Linux: "5" > /proc/self/clear_refs), so dataset writing and verify do not count.
        let resetWorked = Self.resetPeakResident()
        let realistic = try loaderRate(.trajectories(max(1, trajectories / 4)), batches: 24)
        let worst = try loaderRate(.trajectories(0), batches: 8)
        let loaderPeak = Self.peakResidentBytes()
        let assembly = try loaderRate(.trajectories(trajectories), batches: 16)
        let floor = 1200.0
        return Result(
            frames_per_second: 2 * realistic, samples_per_second: realistic,
            worst_case_frames_per_second: 2 * worst, assembly_only_frames_per_second: 2 * assembly,
            decode_frames_per_second: Double(totalFrames) / decode,
            decode_megabytes_per_second: Double(raw) / decode / 1e6,
            write_frames_per_second: Double(totalFrames) / writeSeconds,
            open_validate_milliseconds: openSeconds * 1000,
            verify_megabytes_per_second: Double(reader.compressedBytes + raw) / verifySeconds / 1e6,
            compression_ratio: Double(raw) / Double(reader.compressedBytes),
            compressed_bytes: reader.compressedBytes, raw_bytes: raw,
            bytes_per_frame_compressed: Double(reader.compressedBytes) / Double(totalFrames),
            peak_rss_bytes: Self.peakResidentBytes(), loader_peak_rss_bytes: resetWorked ? loaderPeak : nil,
            trajectories: trajectories, frames_per_trajectory: frames,
            total_frames: totalFrames, size: size,
            local_batch: localBatch, repeats: repeats, retried_blocks: retried,
            floor_frames_per_second: floor, meets_floor: 2 * realistic >= floor)
    }

    static func timeOnce(_ body: () throws -> Void) throws -> Double { try Stopwatch.time(body) }

    /// Median wall time of `repeats` runs of `body`; a run during which other processes used more
    /// than 0.1 core is repeated (at most 3 extra times each, then kept: a busy machine must not hang the bench).
    static func medianTime(_ repeats: Int, _ retried: inout Int, _ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<max(repeats, 1) {
            var attempt = 0
            while true {
                let before = CPUSnapshot.now()
                try body()
                let after = CPUSnapshot.now()
                let t = after.wall - before.wall
                if (before.otherCores(until: after) ?? 0) <= 0.1 || attempt == 3 { times.append(t); break }
                attempt += 1; retried += 1
            }
        }
        return Core.median(times)
    }

    static func resetPeakResident() -> Bool {
        guard let f = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(f) }
        return fputs("5", f) >= 0
    }

    /// Peak resident set size of this process (VmHWM, else ru_maxrss).
    public static func peakResidentBytes() -> Int64 {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = Int64(line.split(separator: " ").dropFirst().first ?? "") {
            return kb * 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_maxrss) * 1024
    }
}
