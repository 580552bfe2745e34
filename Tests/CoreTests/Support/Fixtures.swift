import Foundation
import XCTest
@testable import Core

/// A PyTorch reference fixture written by tools/make_layer_fixtures.py: a config dictionary and named
/// float32 tensors (base64 of little-endian float32, row-major). Located through #filePath so no
/// SwiftPM resources are needed: Tests/CoreTests/Support/Fixtures.swift → Tests/CoreTests/Fixtures/.
struct Fixture {
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    let name: String
    let path: String
    let config: [String: Any]
    private let tensors: [String: (shape: [Int], values: [Float])]

    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    init(_ name: String) throws {
        let url = Self.directory.appendingPathComponent(name + ".json")
        path = url.path
        self.name = name
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LoadError(description: "\(url.path): cannot read fixture (\(error.localizedDescription)); "
                            + "regenerate with /opt/torchvenv/bin/python tools/make_layer_fixtures.py")
        }
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoadError(description: "\(url.path): top level is not a JSON object")
        }
        config = root["config"] as? [String: Any] ?? [:]
        guard let raw = root["tensors"] as? [String: Any] else {
            throw LoadError(description: "\(url.path): missing \"tensors\" object")
        }
        var parsed: [String: (shape: [Int], values: [Float])] = [:]
        for (key, value) in raw {
            guard let entry = value as? [String: Any], let shape = entry["shape"] as? [Int],
                  let b64 = entry["f32le"] as? String else {
                throw LoadError(description: "\(url.path): tensor \"\(key)\" needs \"shape\" [Int] and \"f32le\" String")
            }
            guard let bytes = Data(base64Encoded: b64) else {
                throw LoadError(description: "\(url.path): tensor \"\(key)\": f32le is not valid base64")
            }
            let count = shape.reduce(1, *)
            guard bytes.count == 4 * count else {
                throw LoadError(description: "\(url.path): tensor \"\(key)\": \(bytes.count) bytes for shape \(shape) (expected \(4 * count))")
            }
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { buf in
                for i in 0..<count {
                    values[i] = Float(bitPattern: UInt32(littleEndian: buf.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            parsed[key] = (shape, values)
        }
        tensors = parsed
    }

    func has(_ key: String) -> Bool { tensors[key] != nil }

    func shape(_ key: String) throws -> [Int] { try entry(key).shape }

    func values(_ key: String) throws -> [Float] { try entry(key).values }

    /// The named tensor as a fresh `Tensor` of its stored shape.
    func tensor(_ key: String) throws -> Tensor {
        let e = try entry(key)
        return Tensor(shape: e.shape, values: e.values)
    }

    private func entry(_ key: String) throws -> (shape: [Int], values: [Float]) {
        guard let e = tensors[key] else {
            throw LoadError(description: "\(path): no tensor \"\(key)\" (has \(tensors.keys.sorted()))")
        }
        return e
    }

    func int(_ key: String) throws -> Int {
        guard let v = config[key] as? Int else { throw LoadError(description: "\(path): config \"\(key)\" is not an integer") }
        return v
    }

    func float(_ key: String) throws -> Float {
        guard let v = config[key] as? Double else { throw LoadError(description: "\(path): config \"\(key)\" is not a number") }
        return Float(v)
    }

    func bool(_ key: String) throws -> Bool {
        guard let v = config[key] as? Bool else { throw LoadError(description: "\(path): config \"\(key)\" is not a Boolean") }
        return v
    }

    func pair(_ key: String) throws -> (Int, Int) {
        guard let v = config[key] as? [Int], v.count == 2 else {
            throw LoadError(description: "\(path): config \"\(key)\" is not a pair of integers")
        }
        return (v[0], v[1])
    }

    func string(_ key: String) throws -> String {
        guard let v = config[key] as? String else { throw LoadError(description: "\(path): config \"\(key)\" is not a string") }
        return v
    }

    /// Copies the named tensor into `destination` (a parameter/buffer slot of `count` Floats).
    func load(_ key: String, into destination: UnsafeMutablePointer<Float>, count: Int) throws {
        let v = try values(key)
        guard v.count == count else {
            throw LoadError(description: "\(path): tensor \"\(key)\" has \(v.count) values, slot holds \(count)")
        }
        v.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: count) }
    }
}

/// Elementwise comparison against a reference: |actual − expected| ≤ atol + rtol·|expected|.
/// Reports the worst element so a failure says how far off, not just that it is.
func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float, atol: Float, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(label): \(actual.count) values vs \(expected.count) expected", file: file, line: line)
        return
    }
    var worstRatio: Float = 1, worstIndex = -1
    for i in 0..<actual.count {
        let err = abs(actual[i] - expected[i])
        let ratio = err.isNaN ? Float.infinity : err / (atol + rtol * abs(expected[i]))
        if ratio > worstRatio { worstRatio = ratio; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(label)[\(worstIndex)]: \(actual[worstIndex]) vs expected \(expected[worstIndex]) "
                + "(\(worstRatio)× the allowed \(atol) + \(rtol)·|expected|)", file: file, line: line)
    }
}
