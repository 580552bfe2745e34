import ArgumentParser
import Core
import Foundation

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Print a model's layer table and parameter count; optionally save its seeded initial weights.")

    @OptionGroup var model: ModelOptions

    @Option(help: "Seed of the initialisation.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Option(name: .customLong("save-init"), help: "Write the seeded initial model as a safetensors checkpoint.")
    var saveInit: String?

    func run() throws {
        let config = try model.config()
        let ae = try Autoencoder(config: config, seed: seed)
        if let saveInit {
            try ae.save(to: saveInit)
        }
        let macs = ae.multiplyAdds
        if json {
            let report = ModelReport(config: config, parameters: ae.parameterCount, layers: ae.layers,
                                     encoderMultiplyAdds: macs.encoder, decoderMultiplyAdds: macs.decoder,
                                     penalized: ae.penalizedWeights)
            print(try report.jsonString())
            return
        }
        print("model: \(config.architecture.rawValue), input \(config.inputShape.map(String.init).joined(separator: "×")), latent \(config.latent), objective \(config.objective.rawValue), penalty \(config.penalty.rawValue) ×\(config.penaltyWeight)")
        let nameWidth = max(ae.layers.map(\.name.count).max() ?? 4, 4)
        print("\("layer".padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \("kind".padding(toLength: 34, withPad: " ", startingAt: 0))  \("output".padding(toLength: 12, withPad: " ", startingAt: 0))  \("params".leftPad(10))  \("MACs/sample".leftPad(13))")
        for row in ae.layers {
            print("\(row.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(row.kind.padding(toLength: 34, withPad: " ", startingAt: 0))  \(row.output.map(String.init).joined(separator: "×").padding(toLength: 12, withPad: " ", startingAt: 0))  \(String(row.parameters).leftPad(10))  \(String(row.multiplyAdds).leftPad(13))")
        }
        print("parameters: \(ae.parameterCount)  (trainable weights + BatchNorm affine\(ae.vpnet != nil ? " + VPNet" : ""))")
        print("forward multiply-adds per sample: encoder \(macs.encoder), decoder \(macs.decoder)")
        if !ae.penalizedWeights.isEmpty { print("penalized: \(ae.penalizedWeights.joined(separator: ", "))") }
        if let saveInit { print("wrote \(saveInit)") }
    }
}

struct ModelReport: Codable {
    var config: ModelConfig
    var parameters: Int
    var layers: [LayerInfo]
    var encoderMultiplyAdds: Int
    var decoderMultiplyAdds: Int
    var penalized: [String]

    enum CodingKeys: String, CodingKey {
        case config, parameters, layers, penalized
        case encoderMultiplyAdds = "encoder_multiply_adds"
        case decoderMultiplyAdds = "decoder_multiply_adds"
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

extension Encodable {
    func jsonString(pretty: Bool = false) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }
}
