/// The user's configuration file: one JSON object with a section per stage of the pipeline
/// (docs/formats.md §Configuration file). Every key is optional — a file holds only what it
/// changes from the defaults — and flags given on the command line override the file. `cpae-mpi
/// config --preset P` prints a complete one to start from; `cpae-mpi run` keeps a copy of the one it
/// ran in its run directory.
public struct Configuration: ConfigSection {
    /// The dataset, or how to simulate it.
    public var data = DataConfig()
    /// The autoencoders to train and compare, each in RUN/<name>.
    public var models: [ModelVariant] = [.cpae, .ae]
    /// Phase 1 for every model (`train-ae`).
    public var train = AutoencoderTrainingConfig()
    /// Latent trajectories (`encode`).
    public var encode = EncodeConfig()
    /// Phase 2: the latent dynamics model and its training (`train-ode`).
    public var ode = LatentTrainingConfig()
    /// Scoring (`evaluate`).
    public var evaluate = EvaluateConfig()
    /// The circular-motion ablation, run instead of the stages above when `data.system` is `circle`.
    public var circle = CircleConfig()

    /// The circle system has its own experiment (one sequence, full-batch training on its first
    /// frames), not the trajectory pipeline.
    public var isCircleAblation: Bool { data.system == .circle }

    public init() {}

    public static var fields: [ConfigField<Self>] {
        [.section("data", \.data, "the dataset, or how to simulate it (generate)"),
         .value("models", \.models, "autoencoders to train and compare, each in RUN/<name>: \(ModelVariant.allCases.map(\.rawValue).joined(separator: ", "))", isFlag: false),
         .section("train", \.train, "phase 1 for every model (train-ae)"),
         .section("encode", \.encode, "latent trajectories (encode)"),
         .section("ode", \.ode, "phase 2: the latent dynamics model and its training (train-ode)"),
         .section("evaluate", \.evaluate, "scoring on a split (evaluate)"),
         .section("circle", \.circle, "the circular-motion ablation, run instead of the stages above when data.system is circle")]
    }

    /// Every section's problems, each key prefixed by its section.
    public func problems() -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        if models.isEmpty { found.append(.init("models", "name at least one model (\(ModelVariant.allCases.map(\.rawValue).joined(separator: ", ")))")) }
        if Set(models).count != models.count { found.append(.init("models", "a model is named twice (\(models.map(\.rawValue)))")) }
        found += data.problems().map { $0.within("data") }
        if isCircleAblation {
            // The trajectory stages' sections are not used by the circle ablation.
            found += circle.problems().map { $0.within("circle") }
            if data.dir != nil {
                found.append(.init("data.dir", "the circle ablation renders its own frames; set it to null (or choose another data.system)"))
            }
        } else {
            found += train.problems().map { $0.within("train") }
            found += encode.problems().map { $0.within("encode") }
            found += ode.problems().map { $0.within("ode") }
            found += evaluate.problems().map { $0.within("evaluate") }
        }
        return found
    }

    /// Checks every section at once (the pipeline does this before any work).
    public func check(file: String?) throws {
        let found = problems()
        if !found.isEmpty { throw ConfigError(file: file, problems: found) }
    }

    /// Reads a configuration file. Errors name the file and the key: a syntax error with its byte
    /// offset, a repeated key (a hand-edited file's likely slip, which JSONDecoder would silently
    /// resolve), an unknown key with the section's known ones, a value of the wrong type.
    /// The keys the file gives replace those of `base` (the defaults, or a preset's configuration).
    public static func read(file path: String, onto base: Configuration = Configuration()) throws -> Configuration {
        let reader = try FileReader(path: path, ifDamaged: "fix the file, or print a fresh one with `cpae-mpi config`")
        return try decode(reader.read(count: reader.size, at: 0), source: path, onto: base)
    }

    /// A configuration from JSON text (`source` names it in errors), over `base`.
    static func decode(_ bytes: [UInt8], source: String, onto base: Configuration) throws -> Configuration {
        do { _ = try JSONValue.parse(bytes) } catch let e as JSONParseError {
            throw JSONDecodingError(file: source, field: nil, problem: e.description)
        }
        return try JSONCoding.decode(ConfigCoding<Configuration>.self, from: bytes, file: source,
                                     userInfo: [ConfigCoding<Configuration>.baseKey: base]).value
    }

    /// This configuration with one key set (`sweep`): `key` is a dotted path ("train.kernel"),
    /// `value` JSON text ("4", "null", "[\"cpae\"]") or, when it is not JSON, a string ("exp:0.01:0.001:300").
    /// Errors name the key as a file's would.
    public func setting(_ key: String, to value: String) throws -> Configuration {
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, path.allSatisfy({ !$0.isEmpty }) else {
            throw ConfigError(file: nil, problems: [.init(key, "not a key: give a dotted path such as train.kernel (`cpae-mpi config --keys` lists them)")])
        }
        let json = (try? JSONValue.parse(value)) != nil ? value : try JSONCoding.string(value)
        let text = path.reversed().reduce(json) { inner, name in "{" + (try! JSONCoding.string(name)) + ": " + inner + "}" }
        return try Self.decode(Array(text.utf8), source: "\(key)=\(value)", onto: self)
    }

    /// The keys whose values differ from `other`'s, as "train.epochs: 5 → 30" (for the error when a
    /// run directory is continued with another configuration).
    public func differences(from other: Configuration) throws -> [String] {
        func text(_ v: JSONValue) -> String {
            if case .string(let s) = v { return "\"\(s)\"" }
            return v.brief
        }
        func flatten(_ v: JSONValue, _ path: String, into out: inout [String: String]) {
            if case .object(let members) = v {
                for m in members { flatten(m.value, path.isEmpty ? m.key : path + "." + m.key, into: &out) }
            } else if case .array(let items) = v {
                out[path] = "[" + items.map(text).joined(separator: ", ") + "]"
            } else {
                out[path] = text(v)
            }
        }
        var mine: [String: String] = [:], theirs: [String: String] = [:]
        flatten(try JSONValue.parse(Array(json().utf8)), "", into: &mine)
        flatten(try JSONValue.parse(Array(other.json().utf8)), "", into: &theirs)
        return Set(mine.keys).union(theirs.keys).sorted().compactMap { key in
            mine[key] == theirs[key] ? nil : "\(key): \(theirs[key] ?? "absent") → \(mine[key] ?? "absent")"
        }
    }

    /// The complete file: every key of every section, unset optionals as null.
    public func json() throws -> String {
        try JSONCoding.string(ConfigCoding(self), pretty: true) + "\n"
    }
}
