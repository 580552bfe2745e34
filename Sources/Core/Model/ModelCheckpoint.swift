import Foundation

/// A model checkpoint carries its own `ModelConfig` (metadata key `model_config`), so a file alone
/// is enough to rebuild the network: `reconstruct --checkpoint FILE` needs nothing else.
extension Autoencoder {
    public static let configKey = "model_config"

    public func save(to path: String, optimizer: Adam? = nil, metadata: [String: String] = [:]) throws {
        var meta = metadata
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys   // identical runs must write identical bytes
        meta[Self.configKey] = String(decoding: try encoder.encode(config), as: UTF8.self)
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
        do { config = try JSONDecoder().decode(ModelConfig.self, from: Data(text.utf8)) } catch {
            throw FileError(path: path, item: configKey, problem: "unreadable model configuration (\(error))",
                            advice: "the file is corrupted or from another program; re-create it")
        }
        let model = try Autoencoder(config: config, seed: 0)
        let metadata = try Checkpoint.load(file, into: model.store, optimizer: nil, strict: true)
        return (model, metadata)
    }
}
