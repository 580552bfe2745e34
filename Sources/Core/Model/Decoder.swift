/// The linear head (`decoder_input`) and the transposed-convolution decoder: d → C×H×W.
///
/// cpae/ae (docs/method.md §Architectures): each stage k has a main deconv-bn-relu branch and a side "predict" branch
/// (3×3 conv to C channels, then a bias-free transposed conv of the same geometry and a sigmoid); its
/// output is the channel concatenation [main, side]. The last stage is a deconv with bias and a
/// sigmoid. circle (docs/method.md §Architectures): one full-frame transposed conv with a single output bias and a sigmoid.
final class Decoder {
    struct Stage {
        let main: ConvBlock
        let predict: ConvBlock
        let upsample: ConvBlock
    }

    let head: Linear
    let stages: [Stage]
    let final: ConvBlock
    /// Feature map the head's output is reshaped to: T×1×1.
    let seedShape: [Int]

    struct Tape {
        let latent: Tensor
        let stages: [(main: ConvBlock.Tape, predict: ConvBlock.Tape, upsample: ConvBlock.Tape)]
        let final: ConvBlock.Tape
    }

    init(config: ModelConfig, builder b: NetworkBuilder) {
        let top = config.architecture == .circle ? config.widths[0] : config.widths[2]
        b.shape = [config.latent]
        head = b.linear("decoder_input", out: top)
        seedShape = [top, 1, 1]
        b.shape = seedShape
        let c = config.channels
        switch config.architecture {
        case .circle:
            let k = config.kernel
            stages = []
            final = b.block("ldeconv_1", transposed: true, out: c, kernel: (k, k), stride: (2, 2), padding: (0, 0),
                            norm: false, activation: .sigmoid)
        case .cpae, .ae:
            // Stage numbers mirror the encoder stacks: the first stage undoes the last stack.
            let total = 3 + config.tailStacks + 1
            var stages: [Stage] = []
            for k in stride(from: total, to: 1, by: -1) {
                let first = k == total
                let (kernel, strides) = first ? ((3, 4), (1, 2)) : ((4, 4), (2, 2))
                let out: Int
                switch k {
                case 3: out = config.decoderWidths[1]
                case 2: out = config.decoderWidths[0]
                default: out = top
                }
                let input = b.shape
                let main = b.block("deconv_\(k)", transposed: true, out: out, kernel: kernel, stride: strides,
                                   padding: (1, 1), norm: true, activation: .relu)
                let mainShape = b.shape
                b.shape = input
                let predict = b.block("predict_\(k)", out: c, kernel: (3, 3), stride: (1, 1), padding: (1, 1),
                                      norm: false, activation: nil, convName: "\(b.prefix)predict_\(k)")
                let upsample = b.block("up_sample_\(k)", transposed: true, out: c, kernel: kernel, stride: strides,
                                       padding: (1, 1), bias: false, norm: false, activation: .sigmoid)
                b.shape = [mainShape[0] + c, mainShape[1], mainShape[2]]
                stages.append(Stage(main: main, predict: predict, upsample: upsample))
            }
            self.stages = stages
            final = b.block("deconv_1", transposed: true, out: c, kernel: (4, 4), stride: (2, 2), padding: (1, 1),
                            norm: false, activation: .sigmoid)
        }
    }

    /// `forBackward`: as `ConvBlock.forward`.
    func forward(_ z: Tensor, mode: Mode, forBackward: Bool = true) -> (Tensor, Tape) {
        let seed = head.forward(z)
        var h = seed.reshaped([z.shape[0]] + seedShape)
        var tapes: [(main: ConvBlock.Tape, predict: ConvBlock.Tape, upsample: ConvBlock.Tape)] = []
        for stage in stages {
            let (m, mt) = stage.main.forward(h, mode: mode, forBackward: forBackward)
            let (p, pt) = stage.predict.forward(h, mode: mode, forBackward: forBackward)
            let (u, ut) = stage.upsample.forward(p, mode: mode, forBackward: forBackward)
            tapes.append((mt, pt, ut))
            h = concatChannels(m, u, threads: stage.main.conv.budget.threads)
        }
        let (out, ft) = final.forward(h, mode: mode, forBackward: forBackward)
        return (out, Tape(latent: z, stages: tapes, final: ft))
    }

    /// Accumulates parameter gradients and returns dL/dz.
    func backward(_ dy: Tensor, tape: Tape) -> Tensor { backward([(dy, tape)])[0] }

    /// Several passes' backward, block by block together (`ConvBlock.backward(_ passes:)`): each
    /// parameter's gradient sums the passes in their order; returns each pass's dL/dz.
    func backward(_ passes: [(dy: Tensor, tape: Tape)]) -> [Tensor] {
        var g = final.backward(passes.map { ($0.dy, $0.tape.final) }).map { $0! }
        for i in stride(from: stages.count - 1, through: 0, by: -1) {
            let stage = stages[i], tapes = passes.map { $0.tape.stages[i] }
            let split = g.map { splitChannels($0, first: stage.main.conv.outChannels, threads: stage.main.conv.budget.threads) }
            let dFromMain = stage.main.backward(zip(split, tapes).map { ($0.0, $1.main) }).map { $0! }
            let dPredict = stage.upsample.backward(zip(split, tapes).map { ($0.1, $1.upsample) }).map { $0! }
            let dFromSide = stage.predict.backward(zip(dPredict, tapes).map { ($0, $1.predict) }).map { $0! }
            for (main, side) in zip(dFromMain, dFromSide) {
                for j in 0..<main.count { main.data[j] += side.data[j] }
            }
            g = dFromMain
        }
        return zip(g, passes).map { head.backward($0.reshaped([$0.shape[0], $0.count / $0.shape[0]]), input: $1.tape.latent) }
    }
}
