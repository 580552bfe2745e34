/// One row of the layer table `cpae-mpi model` prints.
public struct LayerInfo: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var output: [Int]        // per-sample output shape
    public var parameters: Int
    public var multiplyAdds: Int    // per-sample forward multiply-adds
}

/// Tracks the running per-sample shape while a network is assembled, and records table rows.
final class NetworkBuilder {
    let store: ParameterStore
    let prefix: String
    var shape: [Int]
    var rows: [LayerInfo] = []

    init(store: ParameterStore, prefix: String, input: [Int]) {
        self.store = store
        self.prefix = prefix
        self.shape = input
    }

    private func parameterCount(since start: Int) -> Int {
        store.parameters[start...].reduce(0) { $0 + $1.count }
    }

    /// conv (or transposed conv) → optional BatchNorm → optional activation, named as the
    /// reference's nn.Sequential: `<name>.0` conv, `<name>.1` BatchNorm.
    func block(_ name: String, transposed: Bool = false, out: Int, kernel: (Int, Int), stride: (Int, Int),
               padding: (Int, Int), bias: Bool = true, norm: Bool, activation: Activation?,
               convName: String? = nil) -> ConvBlock {
        let start = store.parameters.count
        let cname = convName ?? "\(prefix)\(name).0"
        let conv: ConvolutionLayer = transposed
            ? ConvTranspose2d(store: store, name: cname, inChannels: shape[0], outChannels: out,
                              kernel: kernel, stride: stride, padding: padding, bias: bias)
            : Conv2d(store: store, name: cname, inChannels: shape[0], outChannels: out,
                     kernel: kernel, stride: stride, padding: padding, bias: bias)
        let bn = norm ? BatchNorm2d(store: store, name: "\(prefix)\(name).1", channels: out) : nil
        let input = shape
        let macs = conv.multiplyAdds(height: shape[1], width: shape[2])
        let (h, w) = conv.outputSize(height: shape[1], width: shape[2])
        shape = [out, h, w]
        let kind = (transposed ? "ConvT" : "Conv") + " \(kernel.0)×\(kernel.1) s\(stride.0 == stride.1 ? "\(stride.0)" : "(\(stride.0),\(stride.1))") p\(padding.0 == padding.1 ? "\(padding.0)" : "(\(padding.0),\(padding.1))")"
            + (norm ? " +BN" : "") + (activation.map { " +\($0.rawValue)" } ?? "")
        rows.append(LayerInfo(name: convName ?? "\(prefix)\(name)", kind: kind, output: shape,
                              parameters: parameterCount(since: start), multiplyAdds: macs))
        return ConvBlock(name: cname, inputShape: input, conv: conv, norm: bn, activation: activation)
    }

    func linear(_ name: String, out: Int) -> Linear {
        let start = store.parameters.count
        let inFeatures = shape.reduce(1, *)
        let l = Linear(store: store, name: name, inFeatures: inFeatures, outFeatures: out)
        shape = [out]
        rows.append(LayerInfo(name: name, kind: "Linear", output: shape, parameters: parameterCount(since: start),
                              multiplyAdds: inFeatures * out))
        return l
    }
}
