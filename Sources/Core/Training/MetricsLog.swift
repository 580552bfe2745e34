import Foundation

/// The per-step metrics log (JSON lines, rank 0 only): step, epoch, loss (the total) and each term by
/// name, learning rate, throughput and the allreduce time.
public final class MetricsLog {
    private let writer: JSONLinesWriter

    /// On resume, lines past the checkpoint's step (logged by the interrupted run after its last
    /// checkpoint) are dropped first, so the log reads as one uninterrupted run.
    public init(path: String, keepingStepsUpTo lastStep: Int) throws {
        if lastStep > 0, FileManager.default.fileExists(atPath: path) {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            let kept = text.split(separator: "\n").filter { line in
                guard case .object(let members)? = try? JSONValue.parse(String(line)),
                      let step = members.first(where: { $0.key == "step" })?.value,
                      case .int(let s) = step else { return false }
                return s <= lastStep
            }
            try AtomicFile.write(Array((kept.joined(separator: "\n") + (kept.isEmpty ? "" : "\n")).utf8), to: path)
        }
        writer = try JSONLinesWriter(path: path, truncate: lastStep == 0)
    }

    public func append(_ r: StepReport) throws {
        var members: [(key: String, value: JSONValue)] = [
            ("step", .int(r.step)), ("epoch", .int(r.epoch)), ("loss", .number(r.terms.total)),
        ]
        for (name, value) in r.terms.named { members.append((name, .number(value))) }
        members += [
            ("lr", .float(r.learningRate)), ("samples_per_second", .number(Double(r.samples) / r.seconds)),
            ("step_seconds", .number(r.seconds)), ("allreduce_seconds", .number(r.allreduceSeconds)),
            ("skipped", .bool(r.skipped)),
        ]
        try writer.append(members)
    }

    public func close() { writer.close() }
}
