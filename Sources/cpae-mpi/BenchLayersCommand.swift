import ArgumentParser

struct BenchLayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "layers", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'layers' is not implemented yet")
    }
}
