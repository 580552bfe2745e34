import ArgumentParser

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'train' is not implemented yet")
    }
}
