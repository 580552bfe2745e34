import ArgumentParser
import Core
import Foundation

struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Run a checkpoint's autoencoder (eval mode) on a NumPy array; write reconstructions and latents as .npy.",
        discussion: """
            Input: float32 N×C×H×W with values in [0, 1] (the model's own layout: for CpAE/AE a pair of frames \
            side by side, W = 2H), or uint8 N×H×W×C (image layout, divided by 255). Output: float32 N×C×H×W \
            reconstructions and, with --latents, float32 N×d latents — so results can be compared with any \
            other implementation (the checkpoint loads into the reference PyTorch model under the same names).
            """)

    @Option(help: "Checkpoint written by train-ae or `model --save-init`.") var checkpoint: String
    @Option(help: "Input .npy file.") var input: String
    @Option(help: "Output .npy file for the reconstructions.") var output: String
    @Option(help: "Optional .npy file for the latents.") var latents: String?
    @Option(help: "Samples per forward pass (bounds memory).") var batch = 32

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1 (got \(batch))") }
    }

    func run() throws {
        let (model, _) = try Autoencoder.load(checkpoint: checkpoint)
        let images = try Self.readImages(input, expecting: model.config.inputShape)
        let n = images.shape[0], per = images.count / n
        let reconstructions = Tensor(uninitialized: images.shape)
        let z = Tensor(uninitialized: [n, model.config.latent])
        var start = 0
        while start < n {
            let count = min(batch, n - start)
            let chunk = Tensor(uninitialized: [count] + model.config.inputShape)
            chunk.data.update(from: images.data + start * per, count: count * per)
            let latent = model.encode(chunk)
            let out = model.decode(latent)
            (reconstructions.data + start * per).update(from: out.data, count: count * per)
            (z.data + start * model.config.latent).update(from: latent.data, count: latent.count)
            start += count
        }
        try NPY.write(floats: reconstructions.data, shape: reconstructions.shape, to: output)
        if let latents { try NPY.write(floats: z.data, shape: z.shape, to: latents) }
        let mse = mseLoss(reconstructions, images).value
        print("reconstructed \(n) samples: MSE \(String(format: "%.4g", mse)) → \(output)" + (latents.map { ", latents → \($0)" } ?? ""))
    }

    /// Reads float32 N×C×H×W in [0,1] or uint8 N×H×W×C, and checks it against the model's input.
    static func readImages(_ path: String, expecting shape: [Int]) throws -> Tensor {
        let array = try NPY.read(path)
        let (c, h, w) = (shape[0], shape[1], shape[2])
        if let floats = array.floats {
            guard array.shape.count == 4, Array(array.shape.dropFirst()) == shape else {
                throw UserError("\(path): float32 array of shape \(array.shape); the model takes N×\(c)×\(h)×\(w) (or uint8 N×\(h)×\(w)×\(c))")
            }
            return Tensor(shape: array.shape, values: floats)
        }
        if let bytes = array.bytes {
            guard array.shape.count == 4, Array(array.shape.dropFirst()) == [h, w, c] else {
                throw UserError("\(path): uint8 array of shape \(array.shape); the model takes N×\(h)×\(w)×\(c) (or float32 N×\(c)×\(h)×\(w))")
            }
            let n = array.shape[0]
            let t = Tensor(uninitialized: [n, c, h, w])
            for i in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
                t.data[((i * c + k) * h + y) * w + x] = Float(bytes[((i * h + y) * w + x) * c + k]) / 255
            } } } }
            return t
        }
        throw UserError("\(path): unsupported dtype; give float32 or uint8")
    }
}
