/// Channel concatenation [a, b] of two N×Ca×H×W and N×Cb×H×W tensors → N×(Ca+Cb)×H×W.
/// (Any rank ≥ 2 works: dimension 1 is the channel, the rest must agree.)
/// `threads` workers copy whole samples.
public func concatChannels(_ a: Tensor, _ b: Tensor, threads: Int = 1) -> Tensor {
    precondition(a.rank >= 2 && a.rank == b.rank && a.shape[0] == b.shape[0]
                 && Array(a.shape.dropFirst(2)) == Array(b.shape.dropFirst(2)),
                 "concatChannels: shapes \(a.shape) and \(b.shape) differ outside the channel dimension")
    var shape = a.shape
    shape[1] = a.shape[1] + b.shape[1]
    let out = Tensor(uninitialized: shape)
    let n = a.shape[0]
    // Per sample, a's channels are one contiguous block and b's the next.
    let blockA = a.count / Swift.max(n, 1), blockB = b.count / Swift.max(n, 1)
    parallelRanges(n, threads: threads) { samples in
        for i in samples {
            let dst = out.data + i * (blockA + blockB)
            dst.update(from: a.data + i * blockA, count: blockA)
            (dst + blockA).update(from: b.data + i * blockB, count: blockB)
        }
    }
    return out
}

/// The backward of `concatChannels`: splits dy into its first `channels` channels and the rest.
public func splitChannels(_ dy: Tensor, first channels: Int, threads: Int = 1) -> (Tensor, Tensor) {
    precondition(dy.rank >= 2 && channels >= 0 && channels <= dy.shape[1],
                 "splitChannels: cannot take \(channels) channels from \(dy.shape)")
    var shapeA = dy.shape, shapeB = dy.shape
    shapeA[1] = channels
    shapeB[1] = dy.shape[1] - channels
    let a = Tensor(uninitialized: shapeA), b = Tensor(uninitialized: shapeB)
    let n = dy.shape[0]
    let blockA = a.count / Swift.max(n, 1), blockB = b.count / Swift.max(n, 1)
    parallelRanges(n, threads: threads) { samples in
        for i in samples {
            let src = UnsafePointer(dy.data) + i * (blockA + blockB)
            (a.data + i * blockA).update(from: src, count: blockA)
            (b.data + i * blockB).update(from: src + blockA, count: blockB)
        }
    }
    return (a, b)
}
