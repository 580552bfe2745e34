import ArgumentParser

struct TrainAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train-ae", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'train-ae' is not implemented yet")
    }
}
