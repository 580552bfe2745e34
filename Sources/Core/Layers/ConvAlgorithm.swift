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

    public var description: String { rawValue }

    /// The algorithm a layer of this geometry runs: `.direct` or `.winograd`, never `.auto`.
    ///
    /// The auto rule, from `cpae-mpi bench layers --algorithm direct|winograd` on the paper model
    /// (docs/method.md §Fast convolutions has the table): Winograd wins wherever its tiles are
    /// mostly full and there are enough channels to make the per-point GEMMs worth a call; the
    /// small maps near the bottleneck (a few pixels, mostly padding tiles) stay direct.
    func resolve(_ g: ConvGeometry) -> ConvAlgorithm {
        if case .winograd = ConvEngine(g, self) { return .winograd }
        return .direct
    }

    /// Whether this choice runs `plan` (a Winograd-eligible layer) as Winograd.
    fileprivate func runsWinograd(_ plan: WinogradPlan) -> Bool {
        switch self {
        case .direct: return false
        case .winograd: return true
        case .auto:
            // Mostly full tiles (≥ 60% of the tiled area is output), at least 3 tile rows and columns,
            // and enough channels for the per-point GEMMs: ≥ 12 on both sides for phase kernels of 3
            // taps or more (4–9× fewer multiplications), ≥ 32 for 2-tap ones (F(6, 2) saves only 2.9×).
            // One measured exception: a 3×3 layer from ≥ 32 channels to a few (≥ 3: the decoder's
            // "predict" layers to the image), where the direct lowering's 9× copy of the wide input
            // costs more than the transforms (1.6× faster as Winograd, docs/method.md).
            let g = plan.geometry
            let useful = Double(g.oh * g.ow) / Double(plan.th * plan.m * plan.tw * plan.m)
            let channels = Swift.min(plan.phaseChannels, g.outChannels)
            let wideToFew = plan.r == 3 && plan.stride == 1 && plan.phaseChannels >= 32 && g.outChannels >= 3
            let enough = channels >= (plan.r >= 3 ? 12 : 32) || wideToFew
            return plan.th >= 3 && plan.tw >= 3 && useful >= 0.6 && enough
        }
    }
}

/// The engine one layer call runs on: the direct lowering of a geometry or its Winograd plan, with
/// the same three products (so the layers choose once, here, instead of at every product).
enum ConvEngine {
    case direct(ConvGeometry)
    case winograd(WinogradPlan)

    /// One plan per call: the rule reads the same plan the products then run on.
    init(_ g: ConvGeometry, _ algorithm: ConvAlgorithm) {
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
    /// or the Winograd U and (`transposed`, for a forward correlation) Uᵀ — the same bits the
    /// products make for themselves when `scratch.weightPrepared` is false.
    func prepareWeight(_ w: UnsafePointer<Float>, transposed: Bool, scratch: ConvScratch) {
        switch self {
        case .direct(let g): g.reorderWeight(w, into: scratch.weight(g.outChannels * g.k), threads: scratch.budget.threads)
        case .winograd(let p): p.prepareWeight(w, transposed: transposed, scratch: scratch)
        }
    }

    /// `keep`: `keptFloats(batch:)` floats for `weightGradient(kept:)` (Winograd only).
    func correlate(_ x: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   into y: UnsafeMutablePointer<Float>, scratch: ConvScratch, keep: UnsafeMutablePointer<Float>? = nil) {
        switch self {
        case .direct(let g): g.correlate(x, batch: batch, weight: weight, bias: bias, into: y, scratch: scratch)
        case .winograd(let p): p.correlate(x, batch: batch, weight: weight, bias: bias, into: y, scratch: scratch, keepRows: keep)
        }
    }

    func correlateAdjoint(_ t: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          into out: UnsafeMutablePointer<Float>, scratch: ConvScratch) {
        switch self {
        case .direct(let g): g.correlateAdjoint(t, batch: batch, weight: weight, bias: bias, into: out, scratch: scratch)
        case .winograd(let p): p.correlateAdjoint(t, batch: batch, weight: weight, bias: bias, into: out, scratch: scratch)
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
        }
    }
}
