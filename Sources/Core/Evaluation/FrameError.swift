/// Pixel errors between frame sequences. A frame is a flat `[Float]` of pixel values in [0, 1]
/// (any layout, e.g. H×W×C, as long as predicted and true frames use the same one); a sequence is
/// one such array per time step. For a decoded pair image the caller cuts the left half (frame t)
/// before calling (docs/method.md §Evaluation).
public enum FrameError {
    /// e_t = mean over the pixels of frame t of (predicted − true)², for every t. Accumulated in
    /// Double so a 128×128×3 frame does not lose digits to Float summation.
    public static func perFrameMSE(predicted: [[Float]], truth: [[Float]]) -> [Double] {
        precondition(predicted.count == truth.count,
                     "perFrameMSE: \(predicted.count) predicted frames for \(truth.count) true frames")
        return zip(predicted, truth).enumerated().map { t, pair in meanSquaredError(pair.0, pair.1, context: "frame \(t)") }
    }

    /// Botev et al. (2021)'s normalised error: e_t divided by the mean squared true pixel of frame t,
    /// so the threshold does not depend on how bright the scene is. A true frame that is all zero
    /// gives 0 when the prediction is also all zero and +∞ otherwise (any error is total).
    public static func normalizedPerFrameMSE(predicted: [[Float]], truth: [[Float]]) -> [Double] {
        let errors = perFrameMSE(predicted: predicted, truth: truth)
        return zip(errors, truth).map { e, frame in
            let power = meanSquare(frame)
            return power > 0 ? e / power : (e == 0 ? 0 : .infinity)
        }
    }

    /// Mean of (a − b)² over all elements (Double accumulation).
    public static func meanSquaredError(_ a: [Float], _ b: [Float], context: String = "arrays") -> Double {
        precondition(a.count == b.count, "\(context): \(a.count) values against \(b.count)")
        precondition(!a.isEmpty, "\(context): no values")
        var sum = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b[i]); sum += d * d }
        return sum / Double(a.count)
    }

    /// Mean of v² over all elements.
    public static func meanSquare(_ v: [Float]) -> Double {
        precondition(!v.isEmpty, "meanSquare: no values")
        var sum = 0.0
        for x in v { sum += Double(x) * Double(x) }
        return sum / Double(v.count)
    }

    /// Frames stored as uint8 (the shard layout) as Float in [0, 1]: byte / 255, the scale the model sees.
    public static func unitFrames(_ sequence: FrameSequence) -> [[Float]] {
        let n = sequence.bytesPerFrame
        return (0..<sequence.frameCount).map { t in
            sequence.frames[(t * n)..<((t + 1) * n)].map { Float($0) / 255 }
        }
    }

    /// One uint8 frame as Float in [0, 1].
    public static func unitFrame(_ bytes: [UInt8]) -> [Float] { bytes.map { Float($0) / 255 } }
}
