import Foundation

/// A model checkpoint carries its own `ModelConfig` (metadata key `model_config`), so a file alone
/// is enough to rebuild the network: `reconstruct --checkpoint FILE` needs nothing else.
extension Autoencoder {
    public static let configKey = "model_config"

    public func save(to path: String, optimizer: Adam? = nil, metadata: [String: String] = [:]) throws {
        var meta = metadata
        // Sorted keys (identical runs write identical bytes); tools/check_reference_model.py reads
        // this JSON by ModelConfig's property names (channels, height, widths, decoderWidths, …).
        meta[Self.configKey] = try JSONCoding.string(config)
        try Checkpoint.save(to: path, store: store, optimizer: optimizer, metadata: meta)
    }

    /// Rebuilds the model a checkpoint describes and loads its weights and BatchNorm statistics.
    public static func load(checkpoint path: String) throws -> (model: Autoencoder, metadata: [String: String]) {
        let file = try SafeTensorsFile.read(path)
        guard let text = file.metadata[configKey] else {
            throw FileError(path: path, item: configKey, problem: "no model configuration in the checkpoint metadata",
                            advice: "use a checkpoint written by cpae-mpi (train-ae or model --save-init)")
        }
        let config: ModelConfig
        do { config = try JSONCoding.decode(ModelConfig.self, from: Array(text.utf8), file: path, field: configKey) } catch let e as JSONDecodingError {
            throw FileError(path: path, problem: "unreadable model configuration: \(e.detail)",
                            advice: "the file is corrupted or from another program or version; re-create it")
        }
        let model = try Autoencoder(config: config, seed: 0)
        let metadata = try Checkpoint.load(file, into: model.store, optimizer: nil, strict: true)
        return (model, metadata)
    }
}
