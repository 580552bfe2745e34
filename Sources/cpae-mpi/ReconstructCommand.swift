import ArgumentParser

struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reconstruct", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'reconstruct' is not implemented yet")
    }
}
