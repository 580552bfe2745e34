import Foundation

/// Writes a dataset in Chen et al.'s folder layout (the one the reference's Python loader reads):
/// `<dir>/<id>/<k>.png`, plus, at the top level, `states.csv` (ground truth: id, frame, then one
/// column per state), `data_split_dict.json` (the reference split format) and `description.json`.
/// Trajectory folders hold frames only, because the reference loader counts their files.
public final class FrameFolderWriter {
    public let directory: String
    public let description: DatasetDescription
    private var statesCSV: [UInt8] = []

    public init(directory: String, description: DatasetDescription) throws {
        self.directory = directory
        self.description = description
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        statesCSV = Array((["id", "frame"] + description.stateNames).joined(separator: ",").utf8) + [10]
    }

    public func append(_ sequence: FrameSequence) throws {
        guard sequence.frameCount == description.frameCount, sequence.height == description.height,
              sequence.width == description.width, sequence.channels == description.channels else {
            throw IngestError("trajectory \(sequence.id): shape \(sequence.frameCount)×\(sequence.height)×\(sequence.width)×\(sequence.channels) does not match the dataset")
        }
        let folder = (directory as NSString).appendingPathComponent(String(sequence.id))
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for k in 0..<sequence.frameCount {
            try PNGCodec.write(sequence.frameImage(k), to: (folder as NSString).appendingPathComponent("\(k).png"))
        }
        if sequence.stateDimension > 0 {
            for k in 0..<sequence.frameCount {
                let row = sequence.states[(k * sequence.stateDimension)..<((k + 1) * sequence.stateDimension)]
                let line = (["\(sequence.id)", "\(k)"] + row.map { "\($0)" }).joined(separator: ",")
                statesCSV += Array(line.utf8) + [10]
            }
        }
    }

    public func finish(splits: DatasetSplits) throws {
        if !description.stateNames.isEmpty {
            try ImageFileIO.write(statesCSV, to: (directory as NSString).appendingPathComponent("states.csv"))
        }
        try ImageFileIO.write(ReferenceSplitFile.encode(splits), to: (directory as NSString).appendingPathComponent("data_split_dict.json"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Summary: Encodable { var description: DatasetDescription; var splits: DatasetSplits }
        let json = try encoder.encode(Summary(description: description, splits: splits))
        try ImageFileIO.write(Array(json) + [10], to: (directory as NSString).appendingPathComponent("description.json"))
    }
}
