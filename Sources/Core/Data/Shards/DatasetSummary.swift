/// What `cpae-mpi inspect` reports about a dataset (Codable for `--json`).
public struct DatasetSummary: Codable, Sendable {
    public struct Split: Codable, Sendable {
        public var name: String
        public var trajectories: Int
        public var windows: Int
        public var frameRange: [Int]?
    }

    public var directory: String
    public var formatVersion: Int
    public var system: String
    public var trajectories: Int
    public var framesPerTrajectory: Int
    public var frames: Int
    /// channels, height, width
    public var frameShape: [Int]
    public var dt: Double
    public var stateNames: [String]
    public var shards: Int
    public var compressionLevel: Int
    public var compressedBytes: Int64
    public var rawBytes: Int64
    public var compressionRatio: Double
    public var splits: [Split]
    /// Set when the SHA-256 + full-decompression check ran.
    public var verified: Bool

    public init(reader: DatasetReader, verified: Bool) {
        let d = reader.description
        let ids = reader.trajectoryIDs
        directory = reader.directory
        formatVersion = reader.manifest.formatVersion
        system = d.system
        trajectories = ids.count
        framesPerTrajectory = d.frameCount
        frames = ids.count * d.frameCount
        frameShape = [d.channels, d.height, d.width]
        dt = d.dt
        stateNames = d.stateNames
        shards = reader.shards.count
        compressionLevel = reader.manifest.compressionLevel
        compressedBytes = reader.compressedBytes
        rawBytes = Int64(ids.count) * Int64(reader.bytesPerTrajectory)
        compressionRatio = compressedBytes > 0 ? Double(rawBytes) / Double(compressedBytes) : 0
        let s = reader.splits
        splits = SplitName.allCases.map { name in
            let windows = reader.windows(of: name)
            let range: [Int]? = name == .train ? s.trainFrames : name == .validation ? s.validationFrames : s.testFrames
            return Split(name: name.rawValue, trajectories: Set(windows.map(\.trajectory)).count,
                         windows: windows.count, frameRange: range)
        }
        self.verified = verified
    }

    /// Human-readable multi-line summary.
    public var text: String {
        func mb(_ b: Int64) -> String { String(format: "%.2f MB", Double(b) / 1e6) }
        var lines = [
            "dataset      \(directory)  (format v\(formatVersion), \(shards) shard\(shards == 1 ? "" : "s"), zstd level \(compressionLevel))",
            "system       \(system)  dt \(dt) s  states \(stateNames.isEmpty ? "none" : stateNames.joined(separator: ","))",
            "trajectories \(trajectories) × \(framesPerTrajectory) frames = \(frames) frames of \(frameShape[0])×\(frameShape[1])×\(frameShape[2]) uint8",
            "size         \(mb(compressedBytes)) compressed, \(mb(rawBytes)) raw, ratio \(String(format: "%.1f", compressionRatio))×",
        ]
        for sp in splits {
            let range = sp.frameRange.map { " frames [\($0[0]), \($0[1]))" } ?? ""
            lines.append("split        \(sp.name.padding(toLength: 10, withPad: " ", startingAt: 0)) \(sp.trajectories) trajectories\(range), \(sp.windows) windows")
        }
        lines.append(verified ? "verified     SHA-256 of every shard and full decompression (zstd content checksums): OK"
                              : "checked      manifest, shard headers and seek tables (run with --verify for SHA-256 + full decompression)")
        return lines.joined(separator: "\n")
    }
}

import Foundation
