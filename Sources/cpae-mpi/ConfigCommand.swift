import ArgumentParser
import Core
import Foundation

extension PipelinePreset: ExpressibleByArgument {}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a complete configuration file (every key of every stage) for a preset, or check one.",
        discussion: """
            A configuration file is one JSON object with a section per stage (data, models, train, encode, ode, \
            evaluate); each key is spelled as the stage command's flag (ode.global-batch ↔ train-ode \
            --global-batch), a file may hold only the keys it changes, and flags override it \
            (docs/formats.md §Configuration file).

              cpae-mpi config --preset small > my.json     # edit, then:
              cpae-mpi run --config my.json --out runs/mine
              cpae-mpi config --check my.json              # every problem, named by key
            """)

    @Option(help: "Preset to print: \(PipelinePreset.allCases.map(\.rawValue).joined(separator: ", ")).")
    var preset: PipelinePreset = .default

    @Option(help: "Simulated system of the preset: \(PhysicalSystem.allNames).")
    var system: PhysicalSystem = .pendulum

    @Option(help: "Read this file over the preset, report every unknown key, wrong type or out-of-range value, and print the result in full.")
    var check: String?

    @Flag(name: .customLong("keys"), help: "List every key with its meaning instead of printing JSON.")
    var listKeys = false

    func run() throws {
        if listKeys {
            for field in Configuration.fields {
                print("\(field.key): \(field.help)")
                for (key, help) in field.nested { print("  \(field.key).\(key): \(help)") }
            }
            return
        }
        let configuration: Configuration
        if let check {
            configuration = try Configuration.read(file: check, onto: preset.configuration(system: system))
            try configuration.check(file: check)
        } else {
            configuration = preset.configuration(system: system)
        }
        print(try configuration.json(), terminator: "")
    }
}
