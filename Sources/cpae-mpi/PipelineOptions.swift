import ArgumentParser
import Core

/// What `run` and `sweep` share: the preset, the system or dataset, and a configuration file over
/// them; resolved into one checked `Configuration` before any work.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Preset: \(PipelinePreset.allCases.map(\.rawValue).joined(separator: ", ")) (`cpae-mpi config --preset P` shows one in full).")
    var preset: PipelinePreset = .default
    @Option(help: "Simulated system (overrides the preset's and the file's data.system): \(PhysicalSystem.allNames).")
    var system: PhysicalSystem?
    @Option(help: "An existing dataset directory (from generate or ingest) instead of simulating one (overrides data.dir).")
    var data: String?
    @Option(help: "Configuration file applied over the preset (keys it leaves out keep the preset's values).")
    var config: String?

    /// The preset, the file over it, the flags over both; checked in full before any work.
    func resolvedConfiguration() throws -> Configuration {
        if preset == .circle, let system, system != .circle {
            throw UserError("--preset circle is the circle system's ablation; drop --system \(system.rawValue), or choose another preset")
        }
        var c = preset.configuration(system: system ?? .pendulum)
        if let config { c = try Configuration.read(file: config, onto: c) }
        if let system { c.data.system = system }
        if let data { c.data.dir = data }
        try c.check(file: config)
        return c
    }

    /// runs/<preset>, or runs/<preset>-<system> for another system; `suffix` for sweeps.
    func defaultDirectory(suffix: String = "") -> String {
        "runs/" + preset.rawValue + ((system ?? .pendulum) == .pendulum || preset == .circle ? "" : "-" + system!.rawValue) + suffix
    }
}
