import Foundation

/// A record of one optimizer step in a metrics log (phase 1's `MetricsRecord`, phase 2's `ODEMetricsRecord`).
public protocol StepRecord: Codable {
    var step: Int { get }
}

/// A run's per-step metrics log `metrics.jsonl` (rank 0 only), one record per line.
public final class MetricsLog<Record: StepRecord> {
    private let writer: JSONLinesWriter<Record>

    /// On resume, lines past the checkpoint's step (logged by the interrupted run after its last
    /// checkpoint, the line it may have torn included) are dropped first, so the log reads as one
    /// uninterrupted run.
    public init(path: String, keepingStepsUpTo lastStep: Int) throws {
        if lastStep > 0, FileManager.default.fileExists(atPath: path) {
            let kept = try JSONLines.read(Record.self, from: path).filter { $0.step <= lastStep }
            try AtomicFile.write(try kept.flatMap(JSONLines.line), to: path)
        }
        writer = try JSONLinesWriter(path: path, truncate: lastStep == 0)
    }

    public func append(_ record: Record) throws { try writer.append(record) }

    public func close() { writer.close() }
}

extension MetricsLog where Record == MetricsRecord {
    public func append(_ report: StepReport) throws { try writer.append(MetricsRecord(report)) }
}
