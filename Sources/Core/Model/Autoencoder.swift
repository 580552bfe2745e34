/// A CpAE, standard AE or circle model: encoder, decoder, the optional VPNet helper and the penalty,
/// all parameters in one `ParameterStore` named as the reference's state_dict (prefix `ae.` for the
/// convolutional part, `encoder_output`/`decoder_input` for the linear heads, `vpnet.` for the helper).
public final class Autoencoder {
    public let config: ModelConfig
    public let store: ParameterStore
    let encoder: Encoder
    let decoder: Decoder
    public let vpnet: VPNet?
    /// The layer table (per-sample shapes, parameters, multiply-adds), encoder first.
    public let layers: [LayerInfo]
    private let regularizers: [ContinuityRegularizer]

    /// The replica group synchronized BatchNorm sums over (`SingleProcess` alone).
    public var reducer: ReplicaGroup = SingleProcess() {
        didSet { for bn in batchNorms { bn.reducer = reducer } }
    }
    private let batchNorms: [BatchNorm2d]
    /// Threads the convolutions may use (one per replica by default; see `ComputeBudget`).
    public var computeBudget = ComputeBudget.serial {
        didSet {
            for conv in convolutions { conv.budget = computeBudget }
            for bn in batchNorms { bn.budget = computeBudget }
        }
    }
    /// How the convolutions compute (`ConvAlgorithm`; `.auto` picks per layer shape). A compute
    /// setting like the budget: the weights and the checkpoint do not depend on it.
    public var convAlgorithm = ConvAlgorithm.auto {
        didSet { for conv in convolutions { conv.algorithm = convAlgorithm } }
    }
    /// What each convolution runs at the model's input size (`direct` or `winograd`), by layer name:
    /// a run's config.json records it.
    public var convolutionAlgorithms: [String: String] {
        var out: [String: String] = [:]
        for block in encoder.blocks + decoder.stages.flatMap({ [$0.main, $0.predict, $0.upsample] }) + [decoder.final] {
            out[block.name] = block.conv.resolvedAlgorithm(height: block.inputShape[1], width: block.inputShape[2]).rawValue
        }
        return out
    }
    private var convolutions: [ConvolutionLayer] {
        encoder.blocks.map(\.conv) + decoder.stages.flatMap { [$0.main.conv, $0.predict.conv, $0.upsample.conv] } + [decoder.final.conv]
    }

    public init(config: ModelConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        let store = ParameterStore(seed: seed)
        self.store = store
        let builder = NetworkBuilder(store: store, prefix: "ae.", input: config.inputShape)
        encoder = Encoder(config: config, builder: builder)
        decoder = Decoder(config: config, builder: builder)
        vpnet = config.usesVPNet ? try VPNet(store: store, name: "vpnet", dimension: config.latent) : nil
        var rows = builder.rows
        if vpnet != nil {
            let n = store.parameters.filter { $0.name.hasPrefix("vpnet.") }.reduce(0) { $0 + $1.count }
            rows.append(LayerInfo(name: "vpnet", kind: "LA-VPNet (training helper)", output: [config.latent],
                                  parameters: n, multiplyAdds: n))
        }
        layers = rows
        regularizers = encoder.penalized.map {
            let shape = store.parameters[$0.weight.index].shape
            return ContinuityRegularizer(kernelHeight: shape[2], kernelWidth: shape[3])
        }
        var norms: [BatchNorm2d] = []
        for block in encoder.blocks { if let n = block.norm { norms.append(n) } }
        for stage in decoder.stages { if let n = stage.main.norm { norms.append(n) } }
        batchNorms = norms
    }

    public var parameterCount: Int { store.parameterCount }

    /// Per-sample forward multiply-adds of one encoder and one decoder pass.
    public var multiplyAdds: (encoder: Int, decoder: Int) {
        var enc = 0, dec = 0, inDecoder = false
        for row in layers where row.name != "vpnet" {
            if row.name == "decoder_input" { inDecoder = true }
            if inDecoder { dec += row.multiplyAdds } else { enc += row.multiplyAdds }
        }
        return (enc, dec)
    }

    /// The tensors the penalty applies to, by name.
    public var penalizedWeights: [String] { encoder.penalized.map { store.parameters[$0.weight.index].name } }

    // MARK: Inference

    /// Replaces every BatchNorm's running statistics by their average over `count` batches at the
    /// current weights (batch i enters with momentum 1/(i+1), so the first batch overwrites what was
    /// there and every batch weighs the same): encoder and decoder run in training mode on each
    /// batch, no gradients, no parameter change. Collective like a training forward: with
    /// synchronized BatchNorm every replica calls it with its own part of the same global batches,
    /// and all end with the same statistics.
    ///
    /// Why: the moving average lags the weights it is meant to describe. The decoder's BatchNorm
    /// makes training blind to the latents' offset and scale, so Adam lets the latents drift and
    /// shrink; the moving average then describes latents the model no longer produces, and eval
    /// mode reconstructs far worse than training did (measured in docs/method.md §BatchNorm).
    public func recalibrateBatchNorm(count: Int, next: () throws -> Tensor) rethrows {
        let saved = batchNorms.map(\.momentum)
        defer { for (bn, m) in zip(batchNorms, saved) { bn.momentum = m } }
        for i in 0..<count {
            let x = try next()
            for bn in batchNorms { bn.momentum = 1 / Float(i + 1) }
            _ = decode(encode(x, mode: .train), mode: .train)
        }
    }

    /// Images N×C×H×W (values in [0,1]) → latents N×d. Eval mode uses BatchNorm's running statistics.
    public func encode(_ x: Tensor, mode: Mode = .eval) -> Tensor { encoder.forward(x, mode: mode, forBackward: false).0 }

    /// Latents N×d → images N×C×H×W.
    public func decode(_ z: Tensor, mode: Mode = .eval) -> Tensor { decoder.forward(z, mode: mode, forBackward: false).0 }

    /// VPNet's two-frame step ẑ(t+2) = Φ(z(t)) (reference objective only).
    public func advance(_ z: Tensor) -> Tensor? { vpnet?.forward(z).0 }

    // MARK: Penalty

    /// penaltyWeight · Σ J(W) (or the L2 ablation) over the large encoder kernels; adds its gradient to
    /// the store's gradient buffer when asked. Depends on the weights only, so in data-parallel training
    /// every rank computes the same value and adds it after the data gradient has been averaged.
    @discardableResult
    public func accumulatePenalty(gradient: Bool = true) -> Double {
        guard config.penaltyWeight != 0 else { return 0 }
        var total = 0.0
        for (conv, reg) in zip(encoder.penalized, regularizers) {
            let w = store.value(conv.weight)
            let g = gradient ? store.gradient(conv.weight) : nil
            total += reg.penalty(config.penalty, weight: w, outChannels: conv.outChannels, inChannels: conv.inChannels,
                                 scale: config.penaltyWeight, gradient: g)
        }
        return total
    }
}
