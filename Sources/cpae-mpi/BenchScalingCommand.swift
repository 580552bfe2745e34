import ArgumentParser

struct BenchScalingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scaling", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'scaling' is not implemented yet")
    }
}
