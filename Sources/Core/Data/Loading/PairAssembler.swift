/// Builds the network's input tensors from uint8 frames: for each (trajectory, t) an image
/// C×H×2W with frame t in the left half and frame t+1 in the right half, scaled by 1/255
/// (frame-major HWC uint8 → NCHW Float).
public enum PairAssembler {
    /// 1/255 · v for every byte value, so the inner loop is one table load per pixel.
    private static let scale: [Float] = (0..<256).map { Float($0) / 255 }

    /// N×C×H×2W tensor of the pairs (t, t+1) of the given (trajectory, t) items.
    public static func assemble(_ items: [(sequence: FrameSequence, t: Int)]) -> Tensor {
        guard let first = items.first?.sequence else { return Tensor(zeros: [0, 0, 0, 0]) }
        let c = first.channels, h = first.height, w = first.width
        let out = Tensor(uninitialized: [items.count, c, h, 2 * w])
        for (n, item) in items.enumerated() {
            write(pairOf: item.sequence, t: item.t, into: out.data + n * c * h * 2 * w)
        }
        return out
    }

    /// Writes the C×H×2W pair image of frames (t, t+1) of `s` at `dst`.
    public static func write(pairOf s: FrameSequence, t: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(t >= 0 && t + 1 < s.frameCount, "pair (\(t), \(t + 1)) outside trajectory \(s.id) of \(s.frameCount) frames")
        let c = s.channels, h = s.height, w = s.width
        let frameBytes = h * w * c
        let plane = h * 2 * w
        scale.withUnsafeBufferPointer { lut in
            s.frames.withUnsafeBufferPointer { src in
                for half in 0..<2 {
                    let frame = src.baseAddress! + (t + half) * frameBytes
                    for row in 0..<h {
                        // One pass over the interleaved source row, writing C planar rows: every
                        // source byte is read once, and all writes are sequential streams.
                        let i = frame + row * w * c
                        let o = dst + row * 2 * w + half * w
                        if c == 3 {
                            let o1 = o + plane, o2 = o + 2 * plane
                            for col in 0..<w {
                                o[col] = lut[Int(i[3 * col])]
                                o1[col] = lut[Int(i[3 * col + 1])]
                                o2[col] = lut[Int(i[3 * col + 2])]
                            }
                        } else {
                            for ch in 0..<c {
                                let oc = o + ch * plane
                                for col in 0..<w { oc[col] = lut[Int(i[col * c + ch])] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension DatasetReader {
    /// Pair images (t, t+1) of one trajectory for the given starts (default: every t = 0…T−2),
    /// e.g. to encode a whole trajectory for evaluation or for the latent-ODE phase.
    public func pairs(trajectoryID id: Int, starts: [Int]? = nil) throws -> Tensor {
        let s = try trajectory(id: id)
        let ts = starts ?? Array(0..<max(s.frameCount - 1, 0))
        if let bad = ts.first(where: { $0 < 0 || $0 + 1 >= s.frameCount }) {
            throw DatasetError(.invalidArgument, "pair start \(bad) outside trajectory \(id) of \(s.frameCount) frames")
        }
        return PairAssembler.assemble(ts.map { (s, $0) })
    }
}
