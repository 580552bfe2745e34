/// A section of the user's configuration file (docs/formats.md §Configuration file): a value type
/// whose `init()` holds the defaults and whose `fields` name every knob once. From that one list
/// come the JSON reading (a partial section: keys left out keep their defaults; an unknown key is an
/// error naming it and listing the known ones), the writing (every key, `null` for an unset
/// optional, so `cpae-mpi config` prints a complete file), and the key names the checks report.
///
/// A key is spelled as its command-line flag without the dashes (`global-batch` ↔ `--global-batch`),
/// so a user moves a setting between the file and the command line without a lookup table.
public protocol ConfigSection: Sendable, Equatable {
    /// The defaults.
    init()
    static var fields: [ConfigField<Self>] { get }
    /// Range and consistency checks: each problem names its key (relative to this section).
    func problems() -> [ConfigProblem]
}

/// One problem in a configuration: the key (a dotted path once the section is placed in a file)
/// and what is wrong ("must be ≥ 1 (got 0)").
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var problem: String
    public init(_ key: String, _ problem: String) { self.key = key; self.problem = problem }
    public var description: String { "\(key): \(problem)" }
    func within(_ section: String) -> ConfigProblem { ConfigProblem(section + "." + key, problem) }
}

extension ConfigProblem {
    /// The rule both training sections share: exactly one of `steps` and `epochs` (or none, when
    /// the length may still come from a flag), each ≥ 1.
    static func runLength(epochs: Int?, steps: Int?, required: Bool = true) -> [ConfigProblem] {
        var found: [ConfigProblem] = []
        switch (epochs, steps) {
        case (nil, nil) where required: found.append(.init("steps", "give the run's length: steps or epochs"))
        case let (e?, s?): found.append(.init("steps", "give steps or epochs, not both (got steps \(s), epochs \(e); set the other to null)"))
        default: break
        }
        if let e = epochs, e < 1 { found.append(.init("epochs", "must be ≥ 1 (got \(e))")) }
        if let s = steps, s < 1 { found.append(.init("steps", "must be ≥ 1 (got \(s))")) }
        return found
    }
}

/// A configuration that fails its checks, with every problem (not only the first), before any work.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// The file the values came from, or nil when only defaults and flags were involved.
    public var file: String?
    public var problems: [ConfigProblem]
    public init(file: String?, problems: [ConfigProblem]) { self.file = file; self.problems = problems }
    public var description: String {
        let lines = problems.map { "key \($0.key): \($0.problem)" }
        return (file.map { "configuration \($0): " } ?? "configuration: ") + lines.joined(separator: "; ")
    }
}

extension ConfigSection {
    /// Throws every problem of `problems()` at once, each key prefixed by `section`.
    public func check(section: String, file: String?) throws {
        let found = problems().map { $0.within(section) }
        if !found.isEmpty { throw ConfigError(file: file, problems: found) }
    }

    /// The keys of this section, in declaration order.
    public static var keys: [String] { fields.map(\.key) }

    /// Every set value as arguments of the stage's command (how the pipeline runs its stages: the
    /// command's own parsing and checks then apply to the file's values too).
    public var arguments: [String] { Self.fields.flatMap { $0.arguments(self) } }
}

/// The JSON object key of a configuration field.
public struct ConfigKey: CodingKey, Hashable {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

/// One knob: its key, a line of help, and how to read and write it.
public struct ConfigField<Section> {
    public let key: String
    public let help: String
    let read: (inout Section, KeyedDecodingContainer<ConfigKey>, ConfigKey) throws -> Void
    let write: (Section, inout KeyedEncodingContainer<ConfigKey>, ConfigKey) throws -> Void
    /// The same setting as command-line arguments of the stage's command: ["--key", "value"], ["--key"]
    /// for a true Bool, nothing for an unset optional, a false Bool, or a key that is not a flag.
    let arguments: (Section) -> [String]
    /// A nested section's own keys and help (for `cpae-mpi config --keys`); empty for a value.
    public var nested: [(key: String, help: String)] = []

    /// A plain value (number, string, Bool, array of numbers, or an optional of one: `null` unsets
    /// it). `isFlag: false` for a key the stage's command has no flag for.
    public static func value<V: Codable>(_ key: String, _ path: WritableKeyPath<Section, V>, _ help: String,
                                         isFlag: Bool = true) -> Self {
        Self(key: key, help: help,
             read: { section, c, k in section[keyPath: path] = try c.decode(V.self, forKey: k) },
             write: { section, c, k in try c.encode(section[keyPath: path], forKey: k) },
             arguments: { section in isFlag ? commandLine(key, section[keyPath: path]) : [] })
    }

    /// A value as the command line spells it, from its JSON form: a string unquoted, an array
    /// comma-separated (--widths 256,256), a Bool as the flag's presence.
    private static func commandLine<V: Encodable>(_ key: String, _ value: V) -> [String] {
        guard let text = try? JSONCoding.string(value) else { return [] }
        switch text {
        case "null", "false": return []
        case "true": return ["--" + key]
        default:
            if text.hasPrefix("\""), let s = try? JSONCoding.decode(String.self, from: Array(text.utf8), file: key) {
                return ["--" + key, s]
            }
            if text.hasPrefix("[") { return ["--" + key, String(text.dropFirst().dropLast())] }
            return ["--" + key, text]
        }
    }

    /// One of a fixed set of names; a wrong name is reported with the allowed ones.
    public static func choice<V: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Section, V>,
                                                                 _ help: String) -> Self where V.RawValue == String {
        Self(key: key, help: help,
             read: { section, c, k in
                 let name = try c.decode(String.self, forKey: k)
                 guard let value = V(rawValue: name) else {
                     throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath + [k],
                         debugDescription: "expected one of \(V.allCases.map { $0.rawValue }.joined(separator: ", ")), found \"\(name)\""))
                 }
                 section[keyPath: path] = value
             },
             write: { section, c, k in try c.encode(section[keyPath: path].rawValue, forKey: k) },
             arguments: { section in ["--" + key, section[keyPath: path].rawValue] })
    }

    /// An optional choice: one of the names, or null for "the default of the preset".
    public static func choice<V: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Section, V?>,
                                                                 _ help: String) -> Self where V.RawValue == String {
        Self(key: key, help: help,
             read: { section, c, k in
                 guard let name = try c.decode(String?.self, forKey: k) else { section[keyPath: path] = nil; return }
                 guard let value = V(rawValue: name) else {
                     throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath + [k],
                         debugDescription: "expected null or one of \(V.allCases.map { $0.rawValue }.joined(separator: ", ")), found \"\(name)\""))
                 }
                 section[keyPath: path] = value
             },
             write: { section, c, k in try c.encode(section[keyPath: path]?.rawValue, forKey: k) },
             arguments: { section in section[keyPath: path].map { ["--" + key, $0.rawValue] } ?? [] })
    }

    /// A nested section (read partially, like the file's top level).
    public static func section<S: ConfigSection>(_ key: String, _ path: WritableKeyPath<Section, S>, _ help: String) -> Self {
        Self(key: key, help: help,
             read: { section, c, k in
                 section[keyPath: path] = try ConfigCoding<S>.read(from: c.superDecoder(forKey: k), onto: section[keyPath: path])
             },
             write: { section, c, k in try c.encode(ConfigCoding(section[keyPath: path]), forKey: k) },
             arguments: { _ in [] }, nested: S.fields.map { ($0.key, $0.help) })
    }
}

/// Codable form of a section (sections stay plain values; their coding comes from `fields`).
public struct ConfigCoding<S: ConfigSection>: Codable {
    public var value: S
    public init(_ value: S) { self.value = value }

    /// Where `JSONCoding.decode` can hand in the configuration a file's keys apply onto (a preset);
    /// without it they apply onto the defaults, `S()`.
    public static var baseKey: CodingUserInfoKey { CodingUserInfoKey(rawValue: "cpae-mpi.config-base")! }

    public init(from decoder: Swift.Decoder) throws {
        value = try Self.read(from: decoder, onto: decoder.userInfo[Self.baseKey] as? S ?? S())
    }

    /// The keys present in the JSON object replace the corresponding values of `base`.
    static func read(from decoder: Swift.Decoder, onto base: S) throws -> S {
        let c = try decoder.container(keyedBy: ConfigKey.self)
        let known = Set(S.keys)
        // Sorted, so a file with two unknown keys always reports the same one first.
        if let unknown = c.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath + [ConfigKey(unknown)],
                debugDescription: "unknown key; this section's keys are \(S.keys.joined(separator: ", "))"))
        }
        var section = base
        for field in S.fields where c.contains(ConfigKey(field.key)) {
            try field.read(&section, c, ConfigKey(field.key))
        }
        return section
    }

    public func encode(to encoder: Swift.Encoder) throws {
        var c = encoder.container(keyedBy: ConfigKey.self)
        for field in S.fields { try field.write(value, &c, ConfigKey(field.key)) }
    }
}
