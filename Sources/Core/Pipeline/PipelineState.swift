import Foundation

/// RUN/pipeline.json: which stages of `cpae-mpi run` are complete and how long each took. Written
/// atomically by rank 0 after every stage, so an interrupted run knows where to go on: finished
/// stages are skipped, the one it was in resumes from its own checkpoint.
public struct PipelineState: Codable, Sendable, Equatable {
    public static let fileName = "pipeline.json"
    public static let currentVersion = 1

    public var formatVersion = PipelineState.currentVersion
    /// Stage names (`PipelineStage.name`) in completion order.
    public var completed: [String] = []
    /// Wall seconds per completed stage.
    public var seconds: [String: Double] = [:]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", completed, seconds
    }

    public init() {}

    public func isComplete(_ stage: PipelineStage) -> Bool { completed.contains(stage.name) }

    public mutating func complete(_ stage: PipelineStage, seconds s: Double) {
        if !isComplete(stage) { completed.append(stage.name) }
        seconds[stage.name] = s
    }

    /// Seconds the remaining stages should take, each estimated by the mean of the completed stages
    /// of its kind; nil while some remaining kind (other than the report) has not run yet (no honest estimate).
    public func estimatedSeconds(remaining: [PipelineStage]) -> Double? {
        var total = 0.0
        for stage in remaining where stage != .report {   // the report takes well under a second
            let same = seconds.filter { PipelineStage.kind(ofName: $0.key) == stage.kind }.map(\.value)
            guard !same.isEmpty else { return nil }
            total += same.reduce(0, +) / Double(same.count)
        }
        return total
    }

    /// The state in `directory`, or a fresh one when the run has not started there.
    public static func read(directory: String) throws -> PipelineState {
        let path = directory + "/" + fileName
        guard FileManager.default.fileExists(atPath: path) else { return PipelineState() }
        let file = try FileReader(path: path, ifDamaged: "delete \(path) to run every stage again")
        let state = try JSONCoding.decode(PipelineState.self, from: file.read(count: file.size, at: 0), file: path)
        guard state.formatVersion == currentVersion else {
            throw JSONDecodingError(file: path, field: "format_version", problem: "version \(state.formatVersion), this build reads \(currentVersion)")
        }
        return state
    }

    public func write(directory: String) throws {
        try AtomicFile.write(JSONCoding.encode(self, pretty: true) + Array("\n".utf8), to: directory + "/" + Self.fileName)
    }
}
