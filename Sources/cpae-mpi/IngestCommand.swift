import ArgumentParser

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "(not implemented yet)")

    func run() throws {
        throw ValidationError("'ingest' is not implemented yet")
    }
}
