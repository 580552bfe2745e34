/// Latent stability: does decoding and re-encoding a rolled-out latent give it back? The MSE
/// between the rolled-out latents z_t and E(D(z_t)), the encoding of their own decoded pair, over
/// every component of every step (`rolledOut` and `reencoded` are T × d, row t for step t).
/// Small when the rollout stays on the part of latent space the autoencoder maps to itself.
public enum LatentStability {
    public static func mse(rolledOut: [[Double]], reencoded: [[Double]]) -> Double {
        precondition(rolledOut.count == reencoded.count && !rolledOut.isEmpty,
                     "latent stability: \(rolledOut.count) rolled-out latents, \(reencoded.count) re-encoded")
        var sum = 0.0, n = 0
        for (a, b) in zip(rolledOut, reencoded) {
            precondition(a.count == b.count, "latent stability: latent sizes \(a.count) and \(b.count)")
            for (x, y) in zip(a, b) { sum += (x - y) * (x - y) }
            n += a.count
        }
        return sum / Double(n)
    }
}
