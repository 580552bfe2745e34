/// 2-D convolution (cross-correlation), PyTorch semantics: weight O×I×kh×kw, bias O,
/// output size floor((n + 2p − k)/s) + 1. Lowered to cblas_sgemm over chunks of the batch through
/// a width-only lowering (see `ConvGeometry`), which is exact: it performs the same multiply-adds
/// as im2col + GEMM, in a cache-friendlier order.
public final class Conv2d {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: (h: Int, w: Int)
    public let stride: (h: Int, w: Int)
    public let padding: (h: Int, w: Int)
    public let weight: Param
    public let bias: Param?
    public unowned let store: ParameterStore
    /// Reused across calls; a layer is used from one thread at a time.
    let scratch = ConvScratch()
    /// Threads this layer's passes may use (the model hands out its budget).
    public var budget: ComputeBudget {
        get { scratch.budget }
        set { scratch.budget = newValue }
    }
    /// How the products are computed (resolved per input size, see `ConvAlgorithm.resolve`).
    public var algorithm = ConvAlgorithm.auto

    /// Registers `name.weight` [O, I, kh, kw] and `name.bias` [O], both U(±1/√(I·kh·kw)).
    public init(store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                bias: Bool = true) {
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel.0, kernel.1)
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
        let bound = 1 / Float(inChannels * kernel.0 * kernel.1).squareRoot()
        weight = store.addParameter("\(name).weight", shape: [outChannels, inChannels, kernel.0, kernel.1],
                                    initializer: .uniform(bound: bound))
        self.bias = bias ? store.addParameter("\(name).bias", shape: [outChannels], initializer: .uniform(bound: bound)) : nil
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding.h - kernel.h) / stride.h + 1, (width + 2 * padding.w - kernel.w) / stride.w + 1)
    }

    /// Multiply-adds of one sample's forward pass at this input size.
    public func multiplyAdds(height: Int, width: Int) -> Int {
        let (oh, ow) = outputSize(height: height, width: width)
        return outChannels * oh * ow * inChannels * kernel.h * kernel.w
    }

    func geometry(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(channels: inChannels, height: height, width: width, outChannels: outChannels,
                     kernel: kernel, stride: stride, padding: padding)
    }

    /// What `algorithm` runs at this input size: `.direct` or `.winograd`.
    public func resolvedAlgorithm(height: Int, width: Int) -> ConvAlgorithm {
        algorithm.resolve(geometry(height: height, width: width))
    }

    private func checkInput(_ x: Tensor, _ what: String) {
        precondition(x.rank == 4 && x.shape[1] == inChannels,
                     "Conv2d.\(what): input must be N×\(inChannels)×H×W, got \(x.shape)")
    }

    /// x: N×I×H×W → N×O×H'×W'.
    public func forward(_ x: Tensor) -> Tensor { forward(x, keep: false).output }

    /// The forward pass; with `keep`, also what `backward(kept:)` can reuse instead of recomputing:
    /// the Winograd row transforms of x, sample by sample (nil for the direct lowering). They depend
    /// on each sample alone, so the deterministic mode's units read them too.
    public func forward(_ x: Tensor, keep: Bool) -> (output: Tensor, kept: Tensor?) {
        checkInput(x, "forward")
        let g = geometry(height: x.shape[2], width: x.shape[3])
        let y = Tensor(uninitialized: [x.shape[0], outChannels, g.oh, g.ow])
        let b = bias.map { UnsafePointer(store.value($0)) }
        let engine = ConvEngine(g, algorithm), w = store.value(weight)
        var kept: Tensor? = nil
        if keep, let floats = engine.keptFloats(batch: x.shape[0]) { kept = Tensor(uninitialized: [floats]) }
        if store.exact == nil {
            engine.correlate(x.data, batch: x.shape[0], weight: w, bias: b, into: y.data, scratch: scratch, keep: kept?.data)
        } else {
            let unit = store.exact!.unit, keptPerSample = engine.keptFloats(batch: 1) ?? 0
            scratch.forEachUnit(x.shape[0], unit: unit, prepare: { engine.prepareWeight(w, transposed: true, scratch: $0) }) { s, sc in
                engine.correlate(x.data + s * g.inputPerSample, batch: unit, weight: w, bias: b,
                                 into: y.data + s * g.outputPerSample, scratch: sc, keep: kept.map { $0.data + s * keptPerSample })
            }
        }
        return (y, kept)
    }

    /// Several passes' backward in one call (`ConvPass`): each pass's dW (and db) accumulated in
    /// order, each pass's dx returned when asked. (One pass: `ConvolutionLayer.backward(_:input:…)`.)
    public func backward(_ passes: [ConvPass], inputGradient: Bool = true, biasGradient: Bool = true) -> [Tensor?] {
        guard let first = passes.first else { return [] }
        let x0 = first.input
        checkInput(x0, "backward")
        let n = x0.shape[0]
        let g = geometry(height: x0.shape[2], width: x0.shape[3])
        let engine = ConvEngine(g, algorithm), w = store.value(weight), plane = g.oh * g.ow
        checkPasses(passes, outputGradientShape: [n, outChannels, g.oh, g.ow], keptFloats: engine.keptFloats(batch: n))
        let dxs = passes.map { _ in inputGradient ? Tensor(uninitialized: x0.shape) : nil }
        // (Deterministic mode: each unit's gradient on its own, PerSampleConvolution.swift.)
        let keptPerSample = engine.keptFloats(batch: 1) ?? 0
        let prepare: ((ConvScratch) -> Void)? = inputGradient ? { engine.prepareWeight(w, transposed: false, scratch: $0) } : nil
        scratch.backwardPasses(passes.count, batch: n, store: store, weight: weight, bias: biasGradient ? bias : nil,
                               order: engine.unitWeightOrder, prepare: prepare) { i, s, samples, sc, gw, gb, overwrite, span in
            let p = passes[i], dyS = p.outputGradient.data + s * g.outputPerSample
            if let gb { addChannelSums(dyS, batch: samples, channels: outChannels, plane: plane, into: gb, threads: sc.budget.threads) }
            let second: ConvSecondProduct = dxs[i].map { .adjoint(into: $0.data + s * g.inputPerSample) } ?? .none
            engine.weightGradient(input: p.input.data + s * g.inputPerSample, outputGradient: dyS, batch: samples, weight: w,
                                  accumulateInto: gw, overwrite: overwrite, inUnitOrder: overwrite, span: span, then: second, scratch: sc,
                                  kept: p.kept.map { UnsafePointer($0.data) + s * keptPerSample })
        }
        return dxs
    }
}
