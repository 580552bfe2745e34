import XCTest
@testable import Core

/// Conv2d and ConvTranspose2d against PyTorch fixtures (tools/make_layer_fixtures.py), at every
/// geometry the CpAE uses: 3×3 s1 p1, 12×12 s2 p5, 4×4 s2 p1, 3×4 stride (1,2) pad 1, and the
/// transposed 4×4 s2 p1 and 3×4 stride (1,2) pad 1, with and without bias.
///
/// Two kinds of test:
/// - `testNaive…MatchesFixture`: a direct, loop-by-loop Float64 convolution written here from the
///   definition (cross-correlation; transposed = scatter of x·w to (i·s − p + u, j·s − p + v)) must
///   reproduce each fixture's y, dx, dW, db to float32 rounding. This pins the fixture semantics
///   (weight layouts, padding, output size) independently of the layers.
/// - `testConv2dMatchesPyTorch` / `testConvTranspose2dMatchesPyTorch`: the real layers. Tolerance
///   |ours − torch| ≤ 1e-5·|torch| + 1e-6·max(1, max|torch|) per tensor: float32 GEMM over up to
///   288-term dot products errs by ~1e-7 relative to the tensor's scale; anything structurally
///   wrong is off by far more.
final class ConvFixtureTests: XCTestCase {
    static let conv2dFixtures = ["conv2d_3x3_s1_p1", "conv2d_12x12_s2_p5", "conv2d_4x4_s2_p1", "conv2d_3x4_s1x2_p1"]
    static let convTransposeFixtures = ["convT_4x4_s2_p1_bias", "convT_4x4_s2_p1_nobias",
                                        "convT_3x4_s1x2_p1_bias", "convT_3x4_s1x2_p1_nobias"]
    static var fixtureNames: [String] { conv2dFixtures + convTransposeFixtures }

    // MARK: Real layers (need the Conv2d / ConvTranspose2d implementations)

    func testConv2dMatchesPyTorch() throws {
        for name in Self.conv2dFixtures {
            let f = try Fixture(name)
            let (store, conv) = try Self.conv2d(f)
            try compare(conv, store: store, with: f, name: name)
        }
    }

    /// The fixture's Conv2d (parameters not yet loaded) and its store.
    private static func conv2d(_ f: Fixture) throws -> (ParameterStore, Conv2d) {
        let g = try Geometry(f)
        let store = ParameterStore(seed: 1)
        return (store, Conv2d(store: store, name: "conv", inChannels: g.cin, outChannels: g.cout,
                              kernel: g.kernel, stride: g.stride, padding: g.padding, bias: g.bias))
    }

    /// The fixtures a shifted-GEMM plan can run (stride 1, at most 4 outputs: the 3×3 one), through
    /// Conv2d with `.shifted`, with the same allowance as the direct lowering.
    func testShiftedConv2dMatchesPyTorch() throws {
        var checked = 0
        for name in Self.conv2dFixtures {
            let f = try Fixture(name)
            let (store, conv) = try Self.conv2d(f)
            conv.algorithm = .shifted
            let x = try f.tensor("x")
            guard conv.resolvedAlgorithm(height: x.shape[2], width: x.shape[3]) == .shifted else { continue }
            checked += 1
            try compare(conv, store: store, with: f, name: name)
        }
        XCTAssertEqual(checked, 1, "shifted-eligible fixtures")
    }

    /// Loads the fixture's parameters into `conv`, then checks forward output, dx, dW and db.
    private func compare(_ conv: ConvolutionLayer, store: ParameterStore, with f: Fixture, name: String) throws {
        try f.load("weight", into: store.value(conv.weight), count: conv.weight.count)
        if let b = conv.bias { try f.load("bias", into: store.value(b), count: b.count) }
        let x = try f.tensor("x")
        let y = conv.forward(x)
        XCTAssertEqual(y.shape, try f.shape("y"), name)
        try closeScaled(y.array, f, "y")
        let dx = conv.backward(try f.tensor("dy"), input: x, inputGradient: true)
        XCTAssertEqual(dx?.shape, x.shape, name)
        try closeScaled(dx?.array ?? [], f, "dx")
        try closeScaled(store.gradientArray(conv.weight), f, "dweight")
        if let b = conv.bias { try closeScaled(store.gradientArray(b), f, "dbias") }
    }

    func testConvTranspose2dMatchesPyTorch() throws {
        for name in Self.convTransposeFixtures {
            let f = try Fixture(name)
            let g = try Geometry(f)
            let store = ParameterStore(seed: 1)
            let conv = ConvTranspose2d(store: store, name: "deconv", inChannels: g.cin, outChannels: g.cout,
                                       kernel: g.kernel, stride: g.stride, padding: g.padding, bias: g.bias)
            XCTAssertEqual(conv.bias != nil, f.has("bias"), name)
            try compare(conv, store: store, with: f, name: name)
        }
    }

    private func closeScaled(_ actual: [Float], _ f: Fixture, _ key: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let ref = try f.values(key)
        let scale = max(1, ref.map(abs).max() ?? 0)
        assertClose(actual, ref, rtol: 1e-5, atol: 1e-6 * scale, "\(f.name).\(key)", file: file, line: line)
    }

    // MARK: Naive reference vs fixtures (runs without the layers)

    func testNaiveConv2dReferenceMatchesFixture() throws {
        for name in Self.conv2dFixtures {
            let f = try Fixture(name)
            let r = try NaiveConv(f, transposed: false)
            try checkNaive(r, f)
        }
    }

    func testNaiveConvTranspose2dReferenceMatchesFixture() throws {
        for name in Self.convTransposeFixtures {
            let f = try Fixture(name)
            let r = try NaiveConv(f, transposed: true)
            try checkNaive(r, f)
        }
    }

    /// The output sizes the fixtures carry are the ones the layers' `outputSize` promise.
    func testFixtureOutputSizesMatchLayerFormulas() throws {
        let store = ParameterStore(seed: 1)
        for name in Self.fixtureNames {
            let f = try Fixture(name)
            let g = try Geometry(f)
            let xs = try f.shape("x"), ys = try f.shape("y")
            let size: (height: Int, width: Int)
            if name.hasPrefix("convT") {
                size = ConvTranspose2d(store: store, name: name, inChannels: g.cin, outChannels: g.cout, kernel: g.kernel,
                                       stride: g.stride, padding: g.padding, bias: g.bias)
                    .outputSize(height: xs[2], width: xs[3])
            } else {
                size = Conv2d(store: store, name: name, inChannels: g.cin, outChannels: g.cout, kernel: g.kernel,
                              stride: g.stride, padding: g.padding, bias: g.bias)
                    .outputSize(height: xs[2], width: xs[3])
            }
            XCTAssertEqual([size.height, size.width], [ys[2], ys[3]], name)
        }
    }

    private func checkNaive(_ r: NaiveConv, _ f: Fixture, file: StaticString = #filePath, line: UInt = #line) throws {
        // Float64 from the same float32 inputs: only the final float32 rounding separates us from torch.
        let (y, dx, dw, db) = r.run(dy: try f.values("dy"))
        XCTAssertEqual(r.outputShape, try f.shape("y"), f.name, file: file, line: line)
        assertClose(y, try f.values("y"), rtol: 1e-6, atol: 1e-7, "\(f.name).y naive", file: file, line: line)
        assertClose(dx, try f.values("dx"), rtol: 1e-6, atol: 1e-7, "\(f.name).dx naive", file: file, line: line)
        assertClose(dw, try f.values("dweight"), rtol: 1e-6, atol: 1e-7, "\(f.name).dweight naive", file: file, line: line)
        if f.has("dbias") {
            assertClose(db, try f.values("dbias"), rtol: 1e-6, atol: 1e-7, "\(f.name).dbias naive", file: file, line: line)
        }
    }
}

/// A fixture's layer geometry.
private struct Geometry {
    let cin, cout: Int
    let kernel, stride, padding: (Int, Int)
    let bias: Bool

    init(_ f: Fixture) throws {
        cin = try f.int("in_channels"); cout = try f.int("out_channels")
        kernel = try f.pair("kernel"); stride = try f.pair("stride"); padding = try f.pair("padding")
        bias = try f.bool("bias")
    }
}

/// Direct convolution / transposed convolution and their gradients, straight from the definitions,
/// in Float64. Both are expressed through one index relation: input (i, j) of the convolution and
/// output (oi, oj) are linked through tap (u, v) by i = oi·s − p + u. For the transposed layer the
/// roles swap (its input plays the convolution's output), which is exactly PyTorch's definition.
private struct NaiveConv {
    let g: Geometry
    let transposed: Bool
    let n, h, w: Int              // input batch and spatial size
    let oh, ow: Int               // output spatial size
    let x, weight: [Double]
    let bias: [Double]?

    init(_ f: Fixture, transposed: Bool) throws {
        g = try Geometry(f)
        self.transposed = transposed
        let xs = try f.shape("x")
        (n, h, w) = (xs[0], xs[2], xs[3])
        if transposed {
            oh = (h - 1) * g.stride.0 - 2 * g.padding.0 + g.kernel.0
            ow = (w - 1) * g.stride.1 - 2 * g.padding.1 + g.kernel.1
        } else {
            oh = (h + 2 * g.padding.0 - g.kernel.0) / g.stride.0 + 1
            ow = (w + 2 * g.padding.1 - g.kernel.1) / g.stride.1 + 1
        }
        x = try f.values("x").map(Double.init)
        weight = try f.values("weight").map(Double.init)
        bias = f.has("bias") ? try f.values("bias").map(Double.init) : nil
    }

    var outputShape: [Int] { [n, g.cout, oh, ow] }

    /// (y, dx, dW, db) for upstream gradient dy, each rounded to Float.
    func run(dy dyIn: [Float]) -> ([Float], [Float], [Float], [Float]) {
        let dy = dyIn.map(Double.init)
        let (kh, kw) = g.kernel, (sh, sw) = g.stride, (ph, pw) = g.padding
        var y = [Double](repeating: 0, count: n * g.cout * oh * ow)
        var dx = [Double](repeating: 0, count: x.count)
        var dw = [Double](repeating: 0, count: weight.count)
        var db = [Double](repeating: 0, count: g.cout)
        // Convolution view: "small" = the conv output grid (sh_, sw_), "big" = the conv input grid.
        // Conv2d: big = x (h×w), small = y (oh×ow). ConvTranspose2d: big = y (oh×ow), small = x (h×w).
        let (bigH, bigW, smallH, smallW) = transposed ? (oh, ow, h, w) : (h, w, oh, ow)
        for b in 0..<n {
            for ci in 0..<g.cin {
                for co in 0..<g.cout {
                    // Conv2d weight [co, ci, u, v]; ConvTranspose2d weight [ci, co, u, v].
                    let wBase = transposed ? (ci * g.cout + co) * kh * kw : (co * g.cin + ci) * kh * kw
                    for si in 0..<smallH {
                        for sj in 0..<smallW {
                            for u in 0..<kh {
                                let bi = si * sh - ph + u
                                if bi < 0 || bi >= bigH { continue }
                                for v in 0..<kw {
                                    let bj = sj * sw - pw + v
                                    if bj < 0 || bj >= bigW { continue }
                                    let wv = weight[wBase + u * kw + v]
                                    if transposed {
                                        let xi = ((b * g.cin + ci) * h + si) * w + sj
                                        let yi = ((b * g.cout + co) * oh + bi) * ow + bj
                                        y[yi] += x[xi] * wv
                                        dx[xi] += dy[yi] * wv
                                        dw[wBase + u * kw + v] += x[xi] * dy[yi]
                                    } else {
                                        let xi = ((b * g.cin + ci) * h + bi) * w + bj
                                        let yi = ((b * g.cout + co) * oh + si) * ow + sj
                                        y[yi] += x[xi] * wv
                                        dx[xi] += dy[yi] * wv
                                        dw[wBase + u * kw + v] += x[xi] * dy[yi]
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for co in 0..<g.cout {
                for k in 0..<(oh * ow) {
                    let yi = (b * g.cout + co) * oh * ow + k
                    if let bias { y[yi] += bias[co] }
                    db[co] += dy[yi]
                }
            }
        }
        let toF: ([Double]) -> [Float] = { $0.map(Float.init) }
        return (toF(y), toF(dx), toF(dw), toF(db))
    }
}
