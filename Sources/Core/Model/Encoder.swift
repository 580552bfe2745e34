/// The convolutional encoder plus its linear head (`encoder_output`): C×H×W → d.
///
/// cpae/ae (docs/method.md §Architectures): stacks 1–3 stride-2 (K×K or 4×4) conv-bn-relu each followed by a 3×3 one,
/// stride-2 4×4 stacks down to height 1, a 3×4 stride (1,2) stack to 1×1, Linear to d.
/// circle (docs/method.md §Architectures): one full-frame conv with a sigmoid, Linear to d.
final class Encoder {
    let blocks: [ConvBlock]
    let head: Linear
    /// The large-kernel convolutions the penalty applies to.
    let penalized: [Conv2d]

    struct Tape {
        let blocks: [ConvBlock.Tape]
        let features: Tensor
    }

    init(config: ModelConfig, builder b: NetworkBuilder) {
        var blocks: [ConvBlock] = []
        var penalized: [Conv2d] = []
        switch config.architecture {
        case .circle:
            let k = config.kernel
            let conv = b.block("conv_stack1.0", out: config.widths[0], kernel: (k, k), stride: (2, 2), padding: (0, 0),
                               norm: false, activation: .sigmoid)
            blocks.append(conv)
            penalized.append(conv.conv as! Conv2d)
        case .cpae, .ae:
            let large = config.architecture == .cpae
            let k = large ? config.kernel : 4
            let p = k / 2 - 1
            for (i, width) in config.widths.enumerated() {
                let first = b.block("conv_stack\(i + 1).0", out: width, kernel: (k, k), stride: (2, 2), padding: (p, p),
                                    norm: true, activation: .relu)
                if large { penalized.append(first.conv as! Conv2d) }
                blocks.append(first)
                blocks.append(b.block("conv_stack\(i + 1).1", out: width, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
                                      norm: true, activation: .relu))
            }
            let tail = config.widths[2]
            var stack = 4
            for _ in 0..<config.tailStacks {
                blocks.append(b.block("conv_stack\(stack).0", out: tail, kernel: (4, 4), stride: (2, 2), padding: (1, 1),
                                      norm: true, activation: .relu))
                blocks.append(b.block("conv_stack\(stack).1", out: tail, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
                                      norm: true, activation: .relu))
                stack += 1
            }
            // Frames sit side by side, so at height 1 the map is 1×2: a 3×4 kernel with stride (1, 2) ends at 1×1.
            blocks.append(b.block("conv_stack\(stack).0", out: tail, kernel: (3, 4), stride: (1, 2), padding: (1, 1),
                                  norm: true, activation: .relu))
            blocks.append(b.block("conv_stack\(stack).1", out: tail, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
                                  norm: true, activation: .relu))
        }
        self.blocks = blocks
        self.penalized = penalized
        head = b.linear("encoder_output", out: config.latent)
    }

    /// `forBackward`: as `ConvBlock.forward`.
    func forward(_ x: Tensor, mode: Mode, forBackward: Bool = true) -> (Tensor, Tape) {
        var h = x
        var tapes: [ConvBlock.Tape] = []
        tapes.reserveCapacity(blocks.count)
        for block in blocks {
            let (y, tape) = block.forward(h, mode: mode, forBackward: forBackward)
            tapes.append(tape)
            h = y
        }
        return (head.forward(h), Tape(blocks: tapes, features: h))
    }

    /// Accumulates parameter gradients; the image gradient is not needed, so the first conv skips it.
    func backward(_ dz: Tensor, tape: Tape) { backward([(dz, tape)]) }

    /// Several passes' backward, block by block together (`ConvBlock.backward(_ passes:)`): each
    /// parameter's gradient sums the passes in their order.
    func backward(_ passes: [(dz: Tensor, tape: Tape)]) {
        var g = passes.map { head.backward($0.dz, input: $0.tape.features) }
        for i in stride(from: blocks.count - 1, through: 0, by: -1) {
            let next = blocks[i].backward(zip(g, passes).map { ($0, $1.tape.blocks[i]) }, inputGradient: i > 0)
            guard i > 0 else { return }
            g = next.map { $0! }
        }
    }
}
