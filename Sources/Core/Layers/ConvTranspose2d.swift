/// 2-D transposed convolution, PyTorch semantics: weight Cin×Cout×kh×kw, output size
/// (n−1)·s − 2p + k (no output padding). Input position (i, j) scatters x[ci,i,j]·w[ci,co,u,v]
/// into output (i·s − p + u, j·s − p + v).
///
/// It is exactly the adjoint of a Conv2d whose input is this layer's output (channels Cout) and whose
/// output is this layer's input (channels Cin), with the same weight tensor read as O×I×kh×kw:
/// forward = that convolution's input gradient (GEMM + col2im), dx = that convolution's forward,
/// dW = that convolution's weight gradient with the roles of input and output gradient swapped.
public final class ConvTranspose2d {
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

    /// Registers `name.weight` [Cin, Cout, kh, kw] and `name.bias` [Cout], both U(±1/√(Cout·kh·kw))
    /// (PyTorch takes the fan-in from dimension 1 of this weight).
    public init(store: ParameterStore, name: String, inChannels: Int, outChannels: Int,
                kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                bias: Bool = true) {
        self.store = store
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel.0, kernel.1)
        self.stride = (stride.0, stride.1)
        self.padding = (padding.0, padding.1)
        let bound = 1 / Float(outChannels * kernel.0 * kernel.1).squareRoot()
        weight = store.addParameter("\(name).weight", shape: [inChannels, outChannels, kernel.0, kernel.1],
                                    initializer: .uniform(bound: bound))
        self.bias = bias ? store.addParameter("\(name).bias", shape: [outChannels], initializer: .uniform(bound: bound)) : nil
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height - 1) * stride.h - 2 * padding.h + kernel.h, (width - 1) * stride.w - 2 * padding.w + kernel.w)
    }

    /// Multiply-adds of one sample's forward pass at this input size.
    public func multiplyAdds(height: Int, width: Int) -> Int {
        inChannels * height * width * outChannels * kernel.h * kernel.w
    }

    /// The convolution this layer is the adjoint of, for an input of height×width.
    func geometry(height: Int, width: Int) -> ConvGeometry {
        let (oh, ow) = outputSize(height: height, width: width)
        precondition(oh > 0 && ow > 0, "ConvTranspose2d: input \(height)×\(width) gives an empty output")
        let g = ConvGeometry(channels: outChannels, height: oh, width: ow, outChannels: inChannels,
                             kernel: kernel, stride: stride, padding: padding)
        precondition(g.oh == height && g.ow == width, "ConvTranspose2d: inconsistent geometry")
        return g
    }

    /// What `algorithm` runs at this input size: `.direct` or `.winograd`.
    public func resolvedAlgorithm(height: Int, width: Int) -> ConvAlgorithm {
        algorithm.resolve(geometry(height: height, width: width))
    }

    private func checkInput(_ x: Tensor, _ what: String) {
        precondition(x.rank == 4 && x.shape[1] == inChannels,
                     "ConvTranspose2d.\(what): input must be N×\(inChannels)×H×W, got \(x.shape)")
    }

    /// x: N×Cin×H×W → N×Cout×H'×W'.
    public func forward(_ x: Tensor) -> Tensor {
        checkInput(x, "forward")
        let g = geometry(height: x.shape[2], width: x.shape[3])
        let y = Tensor(uninitialized: [x.shape[0], outChannels, g.height, g.width])
        let b = bias.map { UnsafePointer(store.value($0)) }
        let engine = ConvEngine(g, algorithm), w = store.value(weight)
        // g is the forward convolution's geometry: its output is this layer's input.
        if store.exact == nil {
            engine.correlateAdjoint(x.data, batch: x.shape[0], weight: w, bias: b, into: y.data, scratch: scratch)
        } else {
            let unit = store.exact!.unit
            scratch.forEachUnit(x.shape[0], unit: unit, prepare: { engine.prepareWeight(w, transposed: false, scratch: $0) }) { s, sc in
                engine.correlateAdjoint(x.data + s * g.outputPerSample, batch: unit, weight: w, bias: b,
                                        into: y.data + s * g.inputPerSample, scratch: sc)
            }
        }
        return y
    }

    /// Several passes' backward in one call (`ConvPass`; nothing is kept, see `forward(_:keep:)`).
    /// (One pass: `ConvolutionLayer.backward(_:input:…)`.)
    public func backward(_ passes: [ConvPass], inputGradient: Bool = true, biasGradient: Bool = true) -> [Tensor?] {
        guard let first = passes.first else { return [] }
        let x0 = first.input
        checkInput(x0, "backward")
        let n = x0.shape[0]
        let g = geometry(height: x0.shape[2], width: x0.shape[3])
        checkPasses(passes, outputGradientShape: [n, outChannels, g.height, g.width], keptFloats: nil)
        let dxs = passes.map { _ in inputGradient ? Tensor(uninitialized: x0.shape) : nil }
        let engine = ConvEngine(g, algorithm), w = store.value(weight), plane = g.height * g.width
        // dW[ci, co, u, v] = Σ x[ci, i, j] · dy[co, i·s−p+u, j·s−p+v]: the convolution's weight
        // gradient with dy as its input and x as its output gradient. (Deterministic mode: each unit's
        // gradient on its own, PerSampleConvolution.swift.)
        let prepare: ((ConvScratch) -> Void)? = inputGradient ? { engine.prepareWeight(w, transposed: true, scratch: $0) } : nil
        scratch.backwardPasses(passes.count, batch: n, store: store, weight: weight, bias: biasGradient ? bias : nil,
                               order: engine.unitWeightOrder, prepare: prepare) { i, s, samples, sc, gw, gb, overwrite, span in
            let p = passes[i], dyS = p.outputGradient.data + s * g.inputPerSample
            if let gb { addChannelSums(dyS, batch: samples, channels: outChannels, plane: plane, into: gb, threads: sc.budget.threads) }
            let second: ConvSecondProduct = dxs[i].map { .correlation(into: $0.data + s * g.outputPerSample) } ?? .none
            engine.weightGradient(input: dyS, outputGradient: p.input.data + s * g.outputPerSample, batch: samples, weight: w,
                                  accumulateInto: gw, overwrite: overwrite, inUnitOrder: overwrite, span: span, then: second, scratch: sc)
        }
        return dxs
    }
}
