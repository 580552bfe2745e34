import ArgumentParser

/// Hidden command the distributed tests launch under mpirun.
struct MPISelfTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mpi-selftest", abstract: "(not implemented yet)",
                                                    shouldDisplay: false)

    func run() throws {
        throw ValidationError("'mpi-selftest' is not implemented yet")
    }
}
