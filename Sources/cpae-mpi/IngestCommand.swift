import ArgumentParser
import Core
import Distributed
import Foundation

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Convert real video frames into a dataset (Chen et al.'s folders, or raw rgb24 on stdin).",
        discussion: """
        Sources (exactly one):
          --folders ROOT  Chen et al.'s layout: ROOT/0, ROOT/1, ... (ids 0..N-1,
                          no gaps), each holding frames 0.png, 1.png, ... (or
                          .jpg); other files are ignored. All trajectories must
                          have the same frame count (--frames-per-trajectory,
                          or trajectory 0's); a folder that differs is named.
          --raw-stdin     Raw rgb24 frames on stdin, cut into consecutive
                          trajectories of --frames-per-trajectory frames;
                          leftover frames at the end are dropped (as the
                          reference's split_data.py does). For example:
            ffmpeg -i video.mp4 -vf fps=60,crop=620:620 \\
                   -f rawvideo -pix_fmt rgb24 - |
              cpae-mpi ingest --raw-stdin --width 620 --height 620 \\
                --frames-per-trajectory 60 --out data/double_pendulum

        Frames are resized to --size x --size with an anti-aliasing filter
        (area average when shrinking, bicubic when enlarging). Non-square
        frames are stretched like Pillow's resize, so crop to a square first.
        Splits come from --split-file (the reference's data_split_dict_1.json:
        {"train": [...], "val": [...], "test": [...]}), or are drawn 80/10/10
        by trajectory with --seed.

        Under mpirun/srun, --folders is shared out: each rank decodes and
        writes every size-th shard, rank 0 writes manifest.json (the directory
        is byte for byte the same as from one rank); a bad frame on any rank
        ends the job with its message. --raw-stdin is read by rank 0 alone.
        """)

    @Option(help: "Output dataset directory.")
    var out: String

    @Option(help: "Frame width and height after resizing.")
    var size: Int = 128

    @Option(help: "1 (grey) or 3 (RGB).")
    var channels: Int = 3

    @Option(help: "Root of Chen et al.'s folder layout.")
    var folders: String?

    @Flag(name: .customLong("raw-stdin"), help: "Read raw rgb24 frames from stdin.")
    var rawStdin = false

    @Option(help: "Width of the raw stdin frames.")
    var width: Int?

    @Option(help: "Height of the raw stdin frames.")
    var height: Int?

    @Option(name: .customLong("frames-per-trajectory"), help: "Frames per trajectory (required with --raw-stdin).")
    var framesPerTrajectory: Int?

    @Option(help: "Dataset name written to the description.")
    var system: String = "video"

    @Option(help: "Seconds between frames.")
    var dt: Double = 1.0 / 60.0

    @Option(name: .customLong("split-file"), help: "Split file (JSON with train/val/test id lists).")
    var splitFile: String?

    @Option(help: "Seed of the 80/10/10 split when no --split-file is given.")
    var seed: UInt64 = 1

    @Option(name: .customLong("shard-size"), help: "Trajectories per shard file.")
    var shardSize: Int = 64

    @Option(help: "Resize filter: \(ResizeFilter.allCases.map(\.rawValue).joined(separator: ", ")).")
    var filter: ResizeFilter = .automatic

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        if (folders != nil) == rawStdin {
            throw ValidationError("give exactly one source: --folders ROOT or --raw-stdin")
        }
        if rawStdin {
            guard let w = width, let h = height, w > 0, h > 0 else {
                throw ValidationError("--raw-stdin needs positive --width and --height of the rgb24 frames")
            }
            _ = (w, h)
            guard framesPerTrajectory != nil else {
                throw ValidationError("--raw-stdin needs --frames-per-trajectory (e.g. 60)")
            }
        } else if width != nil || height != nil {
            throw ValidationError("--width/--height describe raw stdin frames; folder frames carry their own size")
        }
        if let t = framesPerTrajectory, t < 2 { throw ValidationError("--frames-per-trajectory must be at least 2, got \(t)") }
        if !(4...4096).contains(size) { throw ValidationError("--size must be in 4...4096, got \(size)") }
        if channels != 1 && channels != 3 { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
        if !(dt > 0 && dt.isFinite) { throw ValidationError("--dt must be a positive number of seconds, got \(dt)") }
        if shardSize < 1 { throw ValidationError("--shard-size must be at least 1, got \(shardSize)") }
        if system.isEmpty { throw ValidationError("--system must not be empty") }
        if let s = splitFile, !FileManager.default.fileExists(atPath: s) {
            throw ValidationError("--split-file \(s) does not exist")
        }
        if FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent("manifest.json")) {
            throw ValidationError("--out \(out) already holds a dataset; choose a new directory or delete it first")
        }
    }

    func run() throws {
        Communicator.runOrAbort { comm in
            if let root = folders {
                try ingestFolders(root: root, comm)
            } else {
                try DatasetWriteAcrossRanks.onRootAlone(comm, what: "a --raw-stdin dataset (mpirun passes stdin to rank 0 only)") {
                    try ingestRawStdin()
                }
            }
        }
    }

    private func description(frames: Int) -> DatasetDescription {
        DatasetDescription(system: system, frameCount: frames, height: size, width: size, channels: channels,
                           dt: dt, stateNames: [])
    }

    private func splits(count: Int) throws -> DatasetSplits {
        guard let path = splitFile else { return TrajectorySplitter.byTrajectory(count: count, seed: seed) }
        do { return try ReferenceSplitFile.read(path, trajectoryCount: count) } catch let error as IngestError {
            throw IngestFailure(error.description)
        }
    }

    private func ingestFolders(root: String, _ comm: Communicator) throws {
        let dataset: FrameFolderDataset
        do { dataset = try FrameFolderDataset.scan(root: root, framesPerTrajectory: framesPerTrajectory) } catch let error as IngestError {
            throw IngestFailure(error.description)
        }
        // Check the split file before hours of decoding.
        let splits = try splits(count: dataset.trajectoryCount)
        let progress = GenerationProgress(label: "ingest", total: dataset.trajectoryCount, unit: "trajectories",
                                          framesPerUnit: dataset.framesPerTrajectory, ranks: comm.size, enabled: !quiet && comm.isRoot)
        progress.start(detail: "\(dataset.trajectoryCount) trajectories × \(dataset.framesPerTrajectory) frames from \(root) → \(size)×\(size)×\(channels) in \(out) on \(comm.size) rank(s)")
        // The flags, the splits and the frame files this rank found (every rank must see the same ROOT).
        let input = [root, "\(size)", "\(channels)", "\(dt)", system, filter.rawValue, try JSONCoding.string(splits)]
            + dataset.frameFiles.map { $0.joined(separator: "\n") }
        let job = DatasetWriteAcrossRanks(comm: comm, directory: out, description: description(frames: dataset.framesPerTrajectory),
                                          trajectories: dataset.trajectoryCount, trajectoriesPerShard: shardSize,
                                          job: input.joined(separator: "\n"))
        try job.write(splits: splits, progress: progress) { ids, consume in
            for id in ids {
                let sequence: FrameSequence
                do { sequence = try dataset.load(id, size: size, channels: channels, filter: filter) } catch let error as ImageCodecError {
                    throw IngestFailure("bad frame image: \(error.description)")
                }
                try consume(sequence)
            }
        }
        progress.finish()
    }

    private func ingestRawStdin() throws {
        let frames = framesPerTrajectory!
        var reader = try RawVideoReader(fileDescriptor: 0, width: width!, height: height!)
        if splitFile != nil && !quiet {
            FileHandle.standardError.write(Data("ingest: the split file is checked once the stream has ended (the trajectory count is unknown before)\n".utf8))
        }
        // The writer is created with the first complete trajectory, so a bad stream leaves no output.
        var writer: DatasetWriter? = nil
        var pending: [PixelImage] = []
        var written = 0
        let started = Stopwatch()
        while let frame = try nextFrame(&reader) {
            pending.append(ImageResizer.resize(frame.converted(toChannels: channels), width: size, height: size, filter: filter))
            if pending.count == frames {
                if writer == nil {
                    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                    writer = try DatasetWriter(directory: out, description: description(frames: frames), trajectoriesPerShard: shardSize)
                }
                try writer!.append(FrameSequence(id: written, images: pending))
                pending.removeAll(keepingCapacity: true)
                written += 1
                if !quiet && written % 10 == 0 {
                    let rate = Double(reader.framesRead) / max(started.seconds, 1e-9)
                    FileHandle.standardError.write(Data("ingest: \(written) trajectories (\(reader.framesRead) frames, \(String(format: "%.0f", rate)) frames/s)\n".utf8))
                }
            }
        }
        guard let writer, written > 0 else {
            throw IngestFailure("stdin held \(reader.framesRead) frame(s), fewer than one trajectory of \(frames)")
        }
        if !pending.isEmpty && !quiet {
            FileHandle.standardError.write(Data("ingest: dropped the last \(pending.count) frame(s), fewer than a full trajectory\n".utf8))
        }
        try writer.finish(splits: splits(count: written))
        if !quiet {
            FileHandle.standardError.write(Data("ingest: \(written) trajectories × \(frames) frames from \(reader.framesRead) stdin frames → \(out)\n".utf8))
        }
    }
}

private func nextFrame(_ reader: inout RawVideoReader) throws -> PixelImage? {
    do { return try reader.next() } catch let error as IngestError { throw IngestFailure(error.description) }
}

extension ResizeFilter: ExpressibleByArgument {}

/// A failure of the input data (printed as "cpae-mpi: rank R: …", exit code 1, without the usage text;
/// under mpirun it ends the whole job).
struct IngestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
