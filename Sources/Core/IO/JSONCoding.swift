import Foundation

/// How the program writes and reads its own JSON files (config.json, metrics.jsonl, manifest.json,
/// the JSON strings in checkpoint metadata): Foundation's Codable with one set of rules.
///
/// - Keys are sorted, so equal values give equal bytes: the run configuration is hashed for the
///   cross-rank agreement check, and identical runs must write identical files.
/// - Non-finite numbers, which JSON cannot express, are the strings "NaN", "Infinity" and
///   "-Infinity" (the spellings of Python's and JavaScript's number parsers), so a diverged loss
///   stays visible in a log instead of failing the write; they read back as numbers.
/// - A decoding failure names the file and the field ("manifest.json: field shards[0].bytes:
///   expected an integer, found a string"), not DecodingError's debug text.
public enum JSONCoding {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try encoder.encode(value))
    }

    public static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }

    /// Decodes `bytes` as `T`. `file` names where the bytes came from in the error; `field`, when
    /// the JSON is one value inside a larger file (a checkpoint metadata entry), prefixes the paths.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], file: String,
                                            field: String? = nil, userInfo: [CodingUserInfoKey: Any] = [:]) throws -> T {
        let decoder = decoder()
        decoder.userInfo = userInfo
        do { return try decoder.decode(type, from: Data(bytes)) } catch let error as DecodingError {
            throw JSONDecodingError(file: file, prefix: field, error: error, type: type, bytes: bytes)
        }
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity",
                                                                        negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }
}

/// A JSON file (or a JSON value inside one) that does not hold what its record type needs.
public struct JSONDecodingError: Error, CustomStringConvertible, Equatable {
    public let file: String
    /// The field's path, e.g. "trainer.seed" or "shards[0].bytes"; nil when the text is not JSON.
    public let field: String?
    /// "expected an integer, found a string", "missing", "not valid JSON (…)".
    public let problem: String

    public init(file: String, field: String?, problem: String) {
        self.file = file; self.field = field; self.problem = problem
    }

    /// Everything after the file name (for errors that carry the path separately).
    public var detail: String { (field.map { "field \($0): " } ?? "") + problem }
    public var description: String { "\(file): \(detail)" }

    init<T: Decodable>(file: String, prefix: String?, error: DecodingError, type: T.Type, bytes: [UInt8]) {
        func path(_ keys: [CodingKey]) -> String? {
            var text = prefix ?? ""
            for key in keys {
                if let i = key.intValue { text += "[\(i)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? nil : text
        }
        switch error {
        case .typeMismatch(let expected, let context):
            self.init(file: file, field: path(context.codingPath),
                      problem: "expected \(Self.describe(expected))\(Self.found(context.debugDescription))")
        case .valueNotFound(let expected, let context):
            self.init(file: file, field: path(context.codingPath), problem: "expected \(Self.describe(expected)), found null")
        case .keyNotFound(let key, let context):
            self.init(file: file, field: path(context.codingPath + [key]), problem: "missing")
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            self.init(file: file, field: path(context.codingPath), problem: context.debugDescription)
        case .dataCorrupted:
            // Foundation reports both broken syntax and a number that does not fit its field
            // (1.5 for an Int, -1 for a UInt64, 1e400) as "not valid JSON", without a path or
            // position. JSONSerialization tells the two apart and locates syntax errors.
            let tree: Any
            do { tree = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) } catch {
                let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
                self.init(file: file, field: prefix, problem: "not valid JSON (\(reason))")
                return
            }
            if let (keys, expected, value) = Self.unfitNumber(in: tree, decoding: type) {
                self.init(file: file, field: path(keys), problem: "expected \(Self.describe(expected)), found \(value)")
            } else {
                self.init(file: file, field: prefix, problem: "a number does not fit the type of its field")
            }
        @unknown default:
            self.init(file: file, field: prefix, problem: "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is UInt64.Type, is UInt32.Type, is UInt.Type: return "a non-negative integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") ? "an array" : name.hasPrefix("Dictionary") ? "an object" : name
        }
    }

    /// ", found a string" from Foundation's "Expected to decode Int but found a string instead.".
    private static func found(_ debugDescription: String) -> String {
        guard let r = debugDescription.range(of: "but found ") else { return "" }
        let rest = debugDescription[r.upperBound...]
        return ", found " + (rest.range(of: " instead").map { String(rest[..<$0.lowerBound]) } ?? String(rest))
    }

    /// Finds the number Foundation could not fit: each number that is not a plain non-negative
    /// integer is replaced by a string in turn; the one whose field then reports a type mismatch
    /// is it. Runs only on this error path, so trying every suspect is cheap enough.
    private static func unfitNumber<T: Decodable>(in tree: Any, decoding type: T.Type) -> ([CodingKey], Any.Type, NSNumber)? {
        var suspects: [(path: [JSONPathKey], value: NSNumber)] = []
        func collect(_ node: Any, _ at: [JSONPathKey]) {
            switch node {
            case let object as [String: Any]: for (k, v) in object { collect(v, at + [JSONPathKey(stringValue: k)]) }
            case let array as [Any]: for (i, v) in array.enumerated() { collect(v, at + [JSONPathKey(intValue: i)]) }
            case let n as NSNumber: if (n as? Int).map({ $0 < 0 }) ?? true { suspects.append((at, n)) }
            default: break
            }
        }
        collect(tree, [])
        func text(_ keys: [CodingKey]) -> [String] { keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue } }
        for suspect in suspects {
            guard let data = try? JSONSerialization.data(withJSONObject: replacing(suspect.path, in: tree),
                                                         options: [.fragmentsAllowed]) else { continue }
            do { _ = try JSONCoding.decoder().decode(type, from: data) } catch DecodingError.typeMismatch(let expected, let context) {
                if text(context.codingPath) == text(suspect.path) { return (suspect.path, expected, suspect.value) }
            } catch {}
        }
        return nil
    }

    private static func replacing(_ path: [JSONPathKey], in node: Any) -> Any {
        guard let key = path.first else { return "a string instead of the number" }
        let rest = Array(path.dropFirst())
        if let i = key.intValue, var array = node as? [Any] {
            array[i] = replacing(rest, in: array[i])
            return array
        }
        guard var object = node as? [String: Any], let child = object[key.stringValue] else { return node }
        object[key.stringValue] = replacing(rest, in: child)
        return object
    }
}

private struct JSONPathKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
}
