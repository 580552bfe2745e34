/// How a convolution layer computes its three products (forward, input gradient, weight gradient).
/// All are exact in exact arithmetic; they round differently (docs/method.md §Fast convolutions).
public enum ConvAlgorithm: String, CaseIterable, Codable, Sendable, CustomStringConvertible {
    /// Per layer, from the measured rule in `resolve`.
    case auto
    /// The width-lowered GEMMs of `ConvGeometry` (the reference rounding).
    case direct
    /// Polyphase Winograd tiles with per-point channel GEMMs (`WinogradPlan`), where the layer's
    /// shape allows it (square kernel, stride 1 or 2), direct elsewhere.
    case winograd
    /// One GEMM per kernel tap over shifted views of the padded input (`ShiftedPlan`), where the
    /// layer's shape allows it (stride 1, at most 4 output channels), direct elsewhere.
    case shifted

    public var description: String { rawValue }

    /// The algorithm a layer of this geometry runs: `.direct`, `.winograd` or `.shifted`, never `.auto`.
    ///
    /// The auto rule, from `cpae-mpi bench layers --algorithm direct|winograd` on the paper model
    /// (docs/method.md §Fast convolutions has the table): Winograd wins wherever its tiles are
    /// mostly full and there are enough channels to make the per-point GEMMs worth a call; the
    /// small maps near the bottleneck (a few pixels, mostly padding tiles) stay direct.
    func resolve(_ g: ConvGeometry) -> ConvAlgorithm {
        switch ConvEngine(g, self) {
        case .direct: return .direct
        case .winograd: return .winograd
        case .shifted: return .shifted
        }
    }

    /// Whether this choice runs a layer of geometry `g` (one `ShiftedPlan` supports) as shifted GEMMs.
    /// Auto: a 3×3 layer from ≥ 32 channels to a few (≥ 3: the decoder's "predict" layers to the
    /// image) on a map of ≥ 256 outputs, where the direct lowering copies the wide input 9 times and
    /// Winograd's transforms cost as much as for a wide output (docs/method.md §Fast convolutions has
    /// the measurements, on the 16×32 and 32×64 maps; the smaller maps near the bottleneck, a few
    /// hundred multiply-adds per sample, stay direct as before).
    fileprivate func runsShifted(_ g: ConvGeometry) -> Bool {
        switch self {
        case .shifted: return true
        case .auto: return g.kh == 3 && g.kw == 3 && g.channels >= 32 && g.outChannels >= 3 && g.oh * g.ow >= 256
        case .direct, .winograd: return false
        }
    }

    /// Whether this choice runs `plan` (a Winograd-eligible layer) as Winograd.
    fileprivate func runsWinograd(_ plan: WinogradPlan) -> Bool {
        switch self {
        case .direct, .shifted: return false
        case .winograd: return true
        case .auto:
            // Mostly full tiles (≥ 60% of the tiled area is output), at least 3 tile rows and columns,
            // and enough channels for the per-point GEMMs: ≥ 12 on both sides for phase kernels of 3
            // taps or more (4–9× fewer multiplications), ≥ 32 for 2-tap ones (F(6, 2) saves only 2.9×).
            let g = plan.geometry
            let useful = Double(g.oh * g.ow) / Double(plan.th * plan.m * plan.tw * plan.m)
            let channels = Swift.min(plan.phaseChannels, g.outChannels)
            let enough = channels >= (plan.r >= 3 ? 12 : 32)
            return plan.th >= 3 && plan.tw >= 3 && useful >= 0.6 && enough
        }
    }
}

/// The engine one layer call runs on: the direct lowering of a geometry, its Winograd plan or its
/// shifted-GEMM plan, with the same three products (so the layers choose once, here, instead of at
/// every product).
enum ConvEngine {
    case direct(ConvGeometry)
    case winograd(WinogradPlan)
    case shifted(ShiftedPlan)

    /// One plan per call: the rule reads the same plan the products then run on.
    init(_ g: ConvGeometry, _ algorithm: ConvAlgorithm) {
        if ShiftedPlan.supports(g) && algorithm.runsShifted(g) { self = .shifted(ShiftedPlan(g)); return }
        guard WinogradPlan.supports(g) else { self = .direct(g); return }
        let plan = WinogradPlan(g)
        self = algorithm.runsWinograd(plan) ? .winograd(plan) : .direct(g)
    }

    /// Floats of what a forward pass of `batch` samples can keep for the weight gradient (the
    /// Winograd row transforms of the input), or nil: the direct lowering keeps nothing.
    func keptFloats(batch: Int) -> Int? {
        if case .winograd(let p) = self { return batch * p.rowTransformFloats }
        return nil
    }

    /// Prepares this call's weight in `scratch` with its threads: the direct lowering's reordered w′,
    /// the Winograd U and (`transposed`, for a forward correlation) Uᵀ, or the shifted plan's two
    /// arrangements — the same bits the products make for themselves when `scratch.weightPrepared`
    /// is false.
    func prepareWeight(_ w: UnsafePointer<Float>, transposed: Bool, scratch: ConvScratch) {
        switch self {
        case .direct(let g): g.reorderWeight(w, into: scratch.weight(g.outChannels * g.k), threads: scratch.budget.threads)
        case .winograd(let p): p.prepareWeight(w, transposed: transposed, scratch: scratch)
        case .shifted(let p): p.prepareWeight(w, scratch: scratch)
        }
    }

    /// `keep`: `keptFloats(batch:)` floats for `weightGradient(kept:)` (Winograd only).
    func correlate(_ x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   into y: UnsafeMutablePointer<Float>, scratch: ConvScratch, keep: UnsafeMutablePointer<Float>? = nil) {
        switch self {
        case .direct(let g): g.correlate(x, batch: batch, weight: weight, bias: bias, into: y, scratch: scratch)
        case .winograd(let p): p.correlate(x, batch: batch, weight: weight, bias: bias, into: y, scratch: scratch, keepRows: keep)
        case .shifted(let p): p.correlate(x, batch: batch, weight: weight, bias: bias, into: y, scratch: scratch)
        }
    }

    func correlateAdjoint(_ t: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          into out: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        switch self {
        case .direct(let g): g.correlateAdjoint(t, batch: batch, weight: weight, bias: bias, into: out, scratch: scratch)
        case .winograd(let p): p.correlateAdjoint(t, batch: batch, weight: weight, bias: bias, into: out, scratch: scratch)
        case .shifted(let p): p.correlateAdjoint(t, batch: batch, weight: weight, bias: bias, into: out, scratch: scratch)
        }
    }

    /// The order `weightGradient(inUnitOrder: true)` writes the weight gradient in, when not the
    /// kernel's own (`EntryOrder`): the Winograd engine's phase layout. The deterministic mode folds
    /// each unit's gradient in it (`ExactGradients.arrange`).
    var unitWeightOrder: EntryOrder? {
        if case .winograd(let p) = self { return p.phaseOrder }
        return nil
    }

    /// gradW += the batch's weight gradient (`overwrite`: gradW = it, gradW's old contents unread),
    /// then the `second` product from the same lowered or transformed input. `span`: this call's
    /// place in a sum over several calls (`GradientSpan`; gradW is written by the last).
    /// `inUnitOrder` (with `overwrite`): gradW in `unitWeightOrder`'s order.
    func weightGradient(input x: UnsafePointer<Float>, outputGradient t: UnsafePointer<Float>, batch: Int,
                        weight: UnsafePointer<Float>, accumulateInto gradW: UnsafeMutablePointer<Float>, overwrite: Bool = false,
                        inUnitOrder: Bool = false, span: GradientSpan = .whole, then second: ConvSecondProduct, scratch: ConvScratch,
                        kept: UnsafePointer<Float>? = nil) {
        switch self {
        case .direct(let g):
            g.weightGradient(input: x, outputGradient: t, batch: batch, weight: weight, accumulateInto: gradW, overwrite: overwrite,
                             span: span, then: second, scratch: scratch)
        case .winograd(let p):
            p.weightGradient(input: x, outputGradient: t, batch: batch, weight: weight, accumulateInto: gradW, overwrite: overwrite,
                             inPhaseOrder: inUnitOrder && p.phasesAreKernel, span: span, then: second, scratch: scratch, keptRows: kept)
        case .shifted(let p):
            p.weightGradient(input: x, outputGradient: t, batch: batch, weight: weight, accumulateInto: gradW, overwrite: overwrite,
                             span: span, then: second, scratch: scratch)
        }
    }
}
