/// Channel concatenation [a, b] of two N×Ca×H×W and N×Cb×H×W tensors → N×(Ca+Cb)×H×W.
public func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
    fatalError("concatChannels: not implemented yet")
}

/// The backward of `concatChannels`: splits dy into its first `channels` channels and the rest.
public func splitChannels(_ dy: Tensor, first channels: Int) -> (Tensor, Tensor) {
    fatalError("splitChannels: not implemented yet")
}
