import ArgumentParser

struct BenchDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'data' is not implemented yet")
    }
}
