import Foundation

/// The per-step metrics log `metrics.jsonl` (rank 0 only), one `MetricsRecord` per line.
public final class MetricsLog {
    private let writer: JSONLinesWriter<MetricsRecord>

    /// On resume, lines past the checkpoint's step (logged by the interrupted run after its last
    /// checkpoint, the line it may have torn included) are dropped first, so the log reads as one
    /// uninterrupted run.
    public init(path: String, keepingStepsUpTo lastStep: Int) throws {
        if lastStep > 0, FileManager.default.fileExists(atPath: path) {
            let kept = try JSONLines.read(MetricsRecord.self, from: path).filter { $0.step <= lastStep }
            try AtomicFile.write(try kept.flatMap(JSONLines.line), to: path)
        }
        writer = try JSONLinesWriter(path: path, truncate: lastStep == 0)
    }

    public func append(_ report: StepReport) throws { try writer.append(MetricsRecord(report)) }

    public func close() { writer.close() }
}
