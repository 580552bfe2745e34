/// The latent vector field of CpAE phase 2 (docs/method.md §Latent dynamics): an MLP
/// d → w₁ → … → w_L → d with tanh after every hidden layer and a linear output,
///
///     a₀ = x,  a_l = tanh(a_{l−1}·W_lᵀ + b_l) (l = 1…L),  f(x) = a_L·W_{L+1}ᵀ + b_{L+1},
///
/// weights [out, in] initialised orthogonally with gain 1 (torch.nn.init.orthogonal_ semantics:
/// orthonormal rows when out ≤ in, orthonormal columns otherwise), biases 0.
/// The reference field is widths [256, 256]; the circle's is [64].
///
/// Parameter names: `<name>.layers.<i>.weight` / `.bias`, i = 0…L, the order of
/// torch.nn.Sequential(Linear, Tanh, Linear, …) with the Tanh indices skipped — i.e. the same
/// keys as an `nn.ModuleList` of the Linear layers named `layers`.
///
/// Work: one big GEMM per layer over all rows handed in (the integrator hands row chunks to
/// worker threads), the bias-add and tanh fused into one pass, and its derivative 1 − a² taken
/// from the stored activation in the pullback (no second tanh).
public final class MLPVectorField: VectorField {
    public let store: ParameterStore
    public let dimension: Int
    public let hiddenWidths: [Int]
    /// Weight and bias handles per layer, input layer first.
    public let weights: [Param]
    public let biases: [Param]
    private let sizes: [Int]          // [d, w₁, …, w_L, d]
    private let activationFloats: Int // Σ w_l

    /// Registers the layers into a fresh store seeded with `seed`.
    public convenience init(dimension: Int, hiddenWidths: [Int], seed: UInt64, name: String = "field") throws {
        try self.init(store: ParameterStore(seed: seed), name: name, dimension: dimension, hiddenWidths: hiddenWidths)
    }

    /// Registers the layers into `store` (which then belongs to this field).
    public init(store: ParameterStore, name: String = "field", dimension: Int, hiddenWidths: [Int]) throws {
        guard dimension >= 1 else { throw ODEError.invalidArgument("MLPVectorField: dimension \(dimension) must be ≥ 1") }
        guard !hiddenWidths.isEmpty, hiddenWidths.allSatisfy({ $0 >= 1 }) else {
            throw ODEError.invalidArgument("MLPVectorField: hidden widths \(hiddenWidths) must be one or more positive sizes (the reference uses [256, 256])")
        }
        self.store = store
        self.dimension = dimension
        self.hiddenWidths = hiddenWidths
        sizes = [dimension] + hiddenWidths + [dimension]
        activationFloats = hiddenWidths.reduce(0, +)
        var w: [Param] = [], b: [Param] = []
        for l in 0..<(sizes.count - 1) {
            w.append(store.addParameter("\(name).layers.\(l).weight", shape: [sizes[l + 1], sizes[l]], initializer: .orthogonal(gain: 1)))
            b.append(store.addParameter("\(name).layers.\(l).bias", shape: [sizes[l + 1]], initializer: .constant(0)))
        }
        weights = w
        biases = b
    }

    /// Record: x (d) then every hidden activation a₁ … a_L.
    public var recordFloatsPerRow: Int { dimension + activationFloats }
    /// Scratch: the hidden activations of an unrecorded evaluation, or two δ buffers of the pullback.
    public var scratchFloatsPerRow: Int { max(activationFloats, 2 * (hiddenWidths.max() ?? 0)) }
    public var multiplyAddsPerRow: Int { zip(sizes, sizes.dropFirst()).reduce(0) { $0 + $1.0 * $1.1 } }

    public func evaluate(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                         record: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        let d = dimension
        var acts: UnsafeMutablePointer<Float>
        if let record {
            record.update(from: x, count: rows * d)
            acts = record + rows * d
        } else {
            acts = scratch
        }
        var input = x, inWidth = d
        let hidden = hiddenWidths.count
        for l in 0..<hidden {
            let out = sizes[l + 1]
            sgemm(transB: true, m: rows, n: out, k: inWidth, a: input, lda: inWidth,
                  b: store.value(weights[l]), ldb: inWidth, c: acts, ldc: out)
            FastTanh.biasTanh(acts, rows: rows, cols: out, bias: store.value(biases[l]))
            input = UnsafePointer(acts); inWidth = out
            acts += rows * out
        }
        // Output layer: seed with the bias, let the GEMM accumulate (d is small, one pass either way).
        let bOut = store.value(biases[hidden])
        for r in 0..<rows { (output + r * d).update(from: bOut, count: d) }
        sgemm(transB: true, m: rows, n: d, k: inWidth, a: input, lda: inWidth,
              b: store.value(weights[hidden]), ldb: inWidth, beta: 1, c: output, ldc: d)
    }

    public func pullback(record: UnsafePointer<Float>, rows: Int, cotangent: UnsafePointer<Float>,
                         inputGradient: UnsafeMutablePointer<Float>, parameterGradients: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutablePointer<Float>) {
        let d = dimension
        let hidden = hiddenWidths.count
        // Layer l's input inside the record: a₀ = x at the start, a_l after x and a₁ … a_{l−1};
        // walked downwards from the last activation (no per-call array).
        var inputStart = record + rows * d + rows * (activationFloats - hiddenWidths[hidden - 1])
        let maxWidth = hiddenWidths.max()!
        var delta = scratch, next = scratch + rows * maxWidth
        var upstream = cotangent
        for l in stride(from: hidden, through: 0, by: -1) {
            let out = sizes[l + 1], inW = sizes[l]
            let gw = parameterGradients + weights[l].offset, gb = parameterGradients + biases[l].offset
            if l == hidden { Dense.addColumnSums(upstream, rows: rows, cols: out, into: gb) }
            // dW_l += upstreamᵀ·a_{l−1}   (out × rows · rows × in)
            let input = l == 0 ? record : inputStart
            sgemm(transA: true, m: out, n: inW, k: rows, a: upstream, lda: out, b: input, ldb: inW,
                  beta: 1, c: gw, ldc: inW)
            // d a_{l−1} = upstream·W_l   (rows × out · out × in)
            let target = l == 0 ? inputGradient : delta
            sgemm(m: rows, n: inW, k: out, a: upstream, lda: out, b: store.value(weights[l]), ldb: inW, c: target, ldc: inW)
            if l > 0 {
                // Through tanh of layer l−1 (derivative from the stored output), its bias gradient.
                FastTanh.tanhBackward(delta, output: input, rows: rows, cols: inW,
                                      biasGradient: parameterGradients + biases[l - 1].offset)
                upstream = UnsafePointer(delta)
                swap(&delta, &next)
                if l >= 2 { inputStart -= rows * sizes[l - 1] }
            }
        }
    }
}
