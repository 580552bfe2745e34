import ArgumentParser
import Core
import Distributed
import Foundation

/// One knob over several values, each value a whole pipeline (`run`) in its own directory, the
/// points shared out over rank groups so that a job of N groups finishes N points in the time of
/// one; then a table and a figure over all points.
extension ModelVariant: ExpressibleByArgument {}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run the pipeline once per value of one configuration key, spread over rank groups, and compare.",
        discussion: """
            Each value is applied over the preset and --config (as a file's key would be), and the point runs as \
            `cpae-mpi run` would in SWEEP/<key>=<value>/, resumable the same way. The ranks split into --groups groups \
            of consecutive ranks; point p runs on group p mod groups. The dataset is simulated once into SWEEP/data and \
            shared (unless the key is a data.* key). SWEEP/report.md, sweep.json and sweep.png compare the points.

              # the weight of J across orders of magnitude, CpAE only, one point per rank
              mpirun -np 6 cpae-mpi sweep --key train.penalty-weight --values 0 0.01 0.1 1 10 100 --models cpae
              # the large-kernel size with and without J (large-ae: the CpAE's kernels, no penalty)
              mpirun -np 4 cpae-mpi sweep --key train.kernel --values 4 8 --models cpae large-ae
            """)

    @OptionGroup var options: PipelineOptions
    @Option(help: "The configuration key to vary, as a dotted path (`cpae-mpi config --keys` lists them).") var key: String
    @Option(parsing: .upToNextOption, help: "Its values: JSON (4, 0.01, null, [8,16,32]) or plain strings.") var values: [String]
    @Option(parsing: .upToNextOption, help: "The models of every point (overrides the configuration's models): \(ModelVariant.allCases.map(\.rawValue).joined(separator: ", ")).")
    var models: [ModelVariant] = []
    @Option(help: "Rank groups (default: one per rank, at most one per point).") var groups: Int?
    @Option(help: "Sweep directory (default: runs/<preset>-sweep-<key>).") var out: String?

    func validate() throws {
        guard !values.isEmpty else { throw ValidationError("--values: give at least one value") }
        guard Set(values).count == values.count else { throw ValidationError("--values: a value is given twice") }
        if let groups, groups < 1 { throw ValidationError("--groups must be ≥ 1 (got \(groups))") }
    }

    /// Every point's configuration, checked before any rank starts work.
    func points(_ base: Configuration, directory: String) throws -> [(value: String, directory: String, configuration: Configuration)] {
        var base = base
        if !models.isEmpty { base.models = models }
        guard !base.isCircleAblation else {
            throw UserError("sweep runs the trajectory pipeline; the circle ablation (data.system circle) already compares its models in one `run --preset circle`")
        }
        let sharesData = !key.hasPrefix("data.") && base.data.dir == nil
        if sharesData { base.data.dir = directory + "/data" }
        return try values.map { value in
            var c = try base.setting(key, to: value)
            if !sharesData && c.data.dir == base.data.dir && key.hasPrefix("data.") { c.data.dir = nil }
            try c.check(file: "\(key)=\(value)")
            let name = (key.split(separator: ".").last.map(String.init) ?? key) + "=" + value
            let safe = String(name.map { $0.isLetter || $0.isNumber || "=.-_+".contains($0) ? $0 : "_" })
            return (value, directory + "/" + safe, c)
        }
    }

    func run() throws {
        let directory = out ?? options.defaultDirectory(suffix: "-sweep-" + key.replacingOccurrences(of: ".", with: "-"))
        let base = try options.resolvedConfiguration()
        let points = try points(base, directory: directory)
        let names = Set(points.map { $0.directory })
        guard names.count == points.count else { throw UserError("--values: two values give the same directory name; make them differ in letters or digits") }

        Communicator.runOrAbort { (world: Communicator) throws -> Void in
            let groupCount = min(groups ?? world.size, world.size, points.count)
            guard groupCount <= world.size else { throw UserError("--groups \(groupCount): the job has only \(world.size) rank(s)") }
            if world.isRoot {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                log("cpae-mpi sweep: \(points.count) values of \(key) on \(world.size) rank(s) in \(groupCount) group(s) → \(directory)")
            }
            // The shared dataset first, once, by the world (every point then finds it there).
            if let first = points.first?.configuration.data, let shared = first.dir, shared.hasPrefix(directory + "/") {
                try PipelineRunner.simulateIfMissing(first, into: shared, comm: world)
            }
            let (group, index) = try world.split(groups: groupCount)
            for (p, point) in points.enumerated() where p % groupCount == index {
                if group.isRoot { log("cpae-mpi sweep: group \(index) (\(group.size) rank(s)): \(key) = \(point.value) → \(point.directory)") }
                let runner = PipelineRunner(configuration: point.configuration, directory: point.directory, printsHeadline: false)
                try Communicator.within(group, { try runner.run(group) })
            }
            _ = try world.idleBarrier()
            guard world.isRoot else { return }
            let summary = SweepReport.Summary(key: key, ranks: world.size, groups: groupCount, points: try points.map { point in
                let s = try PipelineRunner.summary(directory: point.directory)
                return SweepReport.Point(value: point.value, directory: point.directory, models: s.models, seconds: s.totalSeconds)
            })
            try SweepReport.write(directory: directory, summary)
            log("cpae-mpi sweep: done → \(directory)/report.md, \(SweepReport.summaryFileName), \(SweepReport.figureFileName)")
            print(SweepReport.markdown(summary), terminator: "")
        }
    }

    private func log(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
