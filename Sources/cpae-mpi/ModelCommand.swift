import ArgumentParser

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "model", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'model' is not implemented yet")
    }
}
