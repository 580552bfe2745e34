import ArgumentParser
import Core
import Foundation

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print a complete configuration file (every key, its default), or check one.",
        discussion: """
            A configuration file is one JSON object with a section per stage; each key is spelled as the \
            stage command's flag (ode.global-batch ↔ train-ode --global-batch), a file may hold only the keys \
            it changes, and flags override it (docs/formats.md §Configuration file).

              cpae-mpi config > my.json            # edit, then:
              cpae-mpi train-ode --run runs/cpae --config my.json --steps 2000
              cpae-mpi config --check my.json      # every problem, named by key
            """)

    @Option(help: "Read this file, report every unknown key, wrong type or out-of-range value, and print it completed with the defaults (the run's length may be left to train-ode's --steps/--epochs).")
    var check: String?

    @Flag(name: .customLong("keys"), help: "List every key with its meaning instead of printing JSON.")
    var listKeys = false

    func run() throws {
        let configuration = try check.map { try Configuration.read(file: $0) } ?? Configuration()
        // A file may leave the run's length to train-ode's --steps/--epochs, so it is not required here.
        if let check {
            let problems = configuration.ode.problems(requiringLength: false).map { ConfigProblem("ode." + $0.key, $0.problem) }
            if !problems.isEmpty { throw ConfigError(file: check, problems: problems) }
        }
        if listKeys {
            for section in Configuration.fields {
                print("\(section.key): \(section.help)")
            }
            for field in LatentTrainingConfig.fields { print("  ode.\(field.key): \(field.help)") }
            return
        }
        print(try configuration.json(), terminator: "")
    }
}
