import Foundation
import XCTest

/// Loads the torch fixtures written by tools/make_regularizer_fixtures.py (regularizer and VPNet
/// tests only; they sit next to this file's target in Tests/CoreTests/Fixtures).
enum RegFixtureLoader {
    struct RegularizerFile: Decodable { let cases: [RegularizerCase] }
    struct RegularizerCase: Decodable {
        let name: String
        let shape: [Int]
        let scale: Double
        let weight: [Float]
        let value: Double
        let gradient: [Double]
    }

    struct VPNetFile: Decodable { let cases: [VPNetCase] }
    struct VPNetCase: Decodable {
        struct Tensor: Decodable { let shape: [Int]; let value: [Float]; let gradient: [Double] }
        let dimension: Int
        let batch: Int
        let parameters: [String: Tensor]
        let stateDictKeys: [String]
        let z: [Float]
        let dy: [Float]
        let y: [Double]
        let dz: [Double]
    }

    static func load<T: Decodable>(_ name: String, as type: T.Type, file: StaticString = #filePath,
                                   line: UInt = #line) throws -> T {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        guard let data = try? Data(contentsOf: url) else {
            XCTFail("missing fixture \(url.path); regenerate with /opt/torchvenv/bin/python "
                    + "tools/make_regularizer_fixtures.py", file: file, line: line)
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONDecoder().decode(T.self, from: data)
    }
}
