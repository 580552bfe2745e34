/// A problem with the user's input found while running (a file, a dataset, a checkpoint): printed as
/// "Error: …" with exit code 1, without the usage text that ArgumentParser adds to ValidationError.
struct UserError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
