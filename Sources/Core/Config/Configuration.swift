/// The user's configuration file: one JSON object with a section per stage (docs/formats.md
/// §Configuration file). Every key is optional — a file holds only what it changes from the
/// defaults — and flags given on the command line override the file. `cpae-mpi config` prints a
/// complete one to start from.
public struct Configuration: ConfigSection {
    /// Phase 2: the latent dynamics model and its training (`train-ode`).
    public var ode = LatentTrainingConfig()

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.section("ode", \.ode, "phase 2: the latent dynamics model and its training (train-ode)")]
    }

    /// Sections are checked by the command that uses them, after its flags are applied.
    public func problems() -> [ConfigProblem] { [] }

    /// Reads a configuration file. Errors name the file and the key: a syntax error with its byte
    /// offset, a repeated key (a hand-edited file's likely slip, which JSONDecoder would silently
    /// resolve), an unknown key with the section's known ones, a value of the wrong type.
    public static func read(file path: String) throws -> Configuration {
        let reader = try FileReader(path: path, ifDamaged: "fix the file, or print a fresh one with `cpae-mpi config`")
        let bytes = try reader.read(count: reader.size, at: 0)
        do { _ = try JSONValue.parse(bytes) } catch let e as JSONParseError {
            throw JSONDecodingError(file: path, field: nil, problem: e.description)
        }
        return try JSONCoding.decode(ConfigCoding<Configuration>.self, from: bytes, file: path).value
    }

    /// The complete file: every key of every section, unset optionals as null.
    public func json() throws -> String {
        try JSONCoding.string(ConfigCoding(self), pretty: true) + "\n"
    }
}
