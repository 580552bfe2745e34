/// conv → optional BatchNorm → optional activation, the unit every CpAE stage is made of
/// ("conv-bn-relu", "deconv-bn-relu", the side branches, the final deconv-sigmoid).
final class ConvBlock {
    /// The conv's parameter prefix (e.g. `ae.conv_stack1.0`) and its per-sample input C×H×W.
    let name: String
    let inputShape: [Int]
    let conv: ConvolutionLayer
    let norm: BatchNorm2d?
    let activation: Activation?

    /// What backward needs: the block input (for the conv's dW and dx), what the conv kept of its
    /// forward pass, BatchNorm's cache and the activation output (every activation's derivative is a
    /// function of its output).
    struct Tape {
        let input: Tensor
        let kept: Tensor?
        let norm: BatchNormCache?
        let output: Tensor
    }

    init(name: String, inputShape: [Int], conv: ConvolutionLayer, norm: BatchNorm2d?, activation: Activation?) {
        self.name = name
        self.inputShape = inputShape
        self.conv = conv
        self.norm = norm
        self.activation = activation
    }

    /// A ReLU after BatchNorm runs inside BatchNorm's passes (`BatchNorm2d.forward(relu:)`): the
    /// same bits, three reads or writes of the whole activation fewer in each direction, which
    /// matters most with two threads, where these memory-bound passes slow each other down.
    private var reluInNorm: Bool { norm != nil && activation == .relu }

    /// `forBackward`: a backward of this tape follows (false for forward-only passes, e.g. the
    /// BatchNorm re-estimate), so the conv keeps what that backward can reuse.
    func forward(_ x: Tensor, mode: Mode, forBackward: Bool = true) -> (Tensor, Tape) {
        var (y, kept) = conv.forward(x, keep: forBackward && mode == .train)
        var cache: BatchNormCache? = nil
        if let norm {
            let (normalized, c) = norm.forward(y, mode: mode, relu: reluInNorm)
            y = normalized
            cache = c
        }
        // The conv/BatchNorm output is not needed again, so the activation overwrites it.
        if !reluInNorm { activation?.forwardInPlace(y, threads: conv.budget.threads) }
        return (y, Tape(input: x, kept: kept, norm: cache, output: y))
    }

    /// Consumes `dy` (it is overwritten in place).
    @discardableResult
    func backward(_ dy: Tensor, tape: Tape, inputGradient: Bool = true) -> Tensor? {
        backward([(dy, tape)], inputGradient: inputGradient)[0]
    }

    /// Several passes of this block in one step (the reference objective's two encoder and two
    /// decoder passes), the conv's together (`ConvPass`). Consumes every `dy`.
    func backward(_ passes: [(dy: Tensor, tape: Tape)], inputGradient: Bool = true) -> [Tensor?] {
        guard let first = passes.first else { return [] }
        var convPasses: [ConvPass] = []
        for (dy, tape) in passes {
            var g = dy
            if let norm, let cache = tape.norm {
                if !cache.relu { activation?.backwardInPlace(g, output: tape.output, threads: conv.budget.threads) }
                // (dy may be overwritten whenever an activation has already overwritten it.)
                g = norm.backward(g, cache: cache, overwriting: activation != nil)
            } else {
                activation?.backwardInPlace(g, output: tape.output, threads: conv.budget.threads)
            }
            convPasses.append(ConvPass(outputGradient: g, input: tape.input, kept: tape.kept))
        }
        // A bias before BatchNorm in training is subtracted out again with the batch mean: its exact
        // gradient is zero (docs/method.md §BatchNorm). Floating point leaves ~1e-9 of noise, which Adam would
        // normalise into lr-sized random steps that differ between rank counts, so keep it exactly zero.
        let biasGradient = first.tape.norm.map { $0.mode != .train } ?? true
        return conv.backward(convPasses, inputGradient: inputGradient, biasGradient: biasGradient)
    }
}
