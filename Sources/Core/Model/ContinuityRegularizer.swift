import Foundation

/// Which penalty a regularized convolution weight carries (docs/method.md §Regularizer): the CpAE continuity
/// regularizer J, the plain L2 ablation mean(W²) of the circle experiment (re_lam = −1), or nothing.
public enum WeightPenalty: String, Codable, Sendable, CaseIterable {
    case continuity, l2, none
}

/// The nonlocal filter regularizer J of CpAE (docs/method.md §Regularizer), evaluated exactly as the authors
/// code it — zero-pad each kh×kw slice by one, place the padded grid on the unit square, weight every
/// ordered pair of grid points by exp(−squared distance / 10), and take 2 × the mean over all
/// O·I·P²·Q² index tuples — but through the separable closed form (docs/method.md §Regularizer):
///
///     G[o,i] = c · ( (r°c°ᵀ) ⊙ w − K_y° · w · K_x° ),   c = 8·scale / (O·I·P²·Q²)
///     scale·J = ½ · Σ ⟨w, G[o,i]⟩
///
/// K_y°, K_x° are the interior blocks of the 1-D kernels and r°, c° the interior parts of their full
/// row sums (the degree counts the zero border, which is what pulls every weight toward zero).
/// That is O(K³) per slice instead of the reference's O(K⁴) tensor, and one pass gives the value
/// and the gradient.
///
/// Immutable after init and allocates its scratch per call, so one instance may be shared across
/// threads.
public struct ContinuityRegularizer: Sendable {
    public let kernelHeight: Int
    public let kernelWidth: Int
    /// Interior kernel blocks, kh×kh and kw×kw, row-major (both symmetric).
    let kernelY: [Float]
    let kernelX: [Float]
    /// Interior degrees r°_p·c°_q, kh×kw row-major.
    let degree: [Float]

    /// Floats per scratch buffer: slices are processed in chunks so the scratch stays small
    /// (≤ 128 KB per buffer) and cache-resident, whatever the layer's size.
    static let chunkFloats = 32_768

    public init(kernelHeight: Int, kernelWidth: Int) {
        precondition(kernelHeight > 0 && kernelWidth > 0,
                     "ContinuityRegularizer: kernel \(kernelHeight)×\(kernelWidth) must be positive")
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        let (ky, r) = Self.interiorKernel(size: kernelHeight)
        let (kx, c) = Self.interiorKernel(size: kernelWidth)
        kernelY = ky.map(Float.init)
        kernelX = kx.map(Float.init)
        var d = [Float](repeating: 0, count: kernelHeight * kernelWidth)
        for p in 0..<kernelHeight { for q in 0..<kernelWidth { d[p * kernelWidth + q] = Float(r[p] * c[q]) } }
        degree = d
    }

    /// The 1-D kernel exp(−(Δ/(n+1))²/10) on the padded grid of n+2 points spanning [0, 1], cut to its
    /// n interior points, and the interior points' row sums over the FULL padded grid.
    static func interiorKernel(size n: Int) -> (kernel: [Double], rowSums: [Double]) {
        let padded = n + 2
        let spacing = 1 / Double(padded - 1)
        func k(_ a: Int, _ b: Int) -> Double {
            let t = Double(a - b) * spacing
            return exp(-t * t / 10)
        }
        var kernel = [Double](repeating: 0, count: n * n)
        var sums = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<n { kernel[i * n + j] = k(i + 1, j + 1) }
            sums[i] = (0..<padded).reduce(0) { $0 + k(i + 1, $1) }
        }
        return (kernel, sums)
    }

    /// Returns scale·J(W) and ADDS scale·∂J/∂W into `gradient` when it is non-nil.
    /// W is O×I×kh×kw, row-major (PyTorch's Conv2d layout). The value is accumulated in Double.
    public func apply(weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, scale: Float,
                      gradient: UnsafeMutablePointer<Float>?) -> Double {
        let kh = kernelHeight, kw = kernelWidth, area = kh * kw
        let slices = outChannels * inChannels
        guard slices > 0 else { return 0 }
        let n = Double((kh + 2) * (kw + 2))
        let coefficient = 8 * Double(scale) / (Double(slices) * n * n)
        let chunk = Swift.max(1, Swift.min(slices, Self.chunkFloats / area))
        // right[p][s][q] = (w_s·K_x°)[p][q]; left = K_y°·right, same layout. Putting the slice index in
        // the middle makes the left product ONE gemm over the whole chunk.
        let right = UnsafeMutablePointer<Float>.allocate(capacity: chunk * area)
        let left = UnsafeMutablePointer<Float>.allocate(capacity: chunk * area)
        defer { right.deallocate(); left.deallocate() }
        var total = 0.0
        kernelX.withUnsafeBufferPointer { kx in
            kernelY.withUnsafeBufferPointer { ky in
                degree.withUnsafeBufferPointer { deg in
                    var first = 0
                    while first < slices {
                        let count = Swift.min(chunk, slices - first)
                        let w = weight + first * area
                        let rowStride = count * kw
                        // Right product, one gemm per filter row p: rows {w[s][p][·]} are area apart.
                        for p in 0..<kh {
                            sgemm(m: count, n: kw, k: kw, a: w + p * kw, lda: area,
                                  b: kx.baseAddress!, ldb: kw, c: right + p * rowStride, ldc: kw)
                        }
                        // Left product for every slice of the chunk at once: (kh×kh)·(kh × count·kw).
                        sgemm(m: kh, n: rowStride, k: kh, a: ky.baseAddress!, lda: kh,
                              b: right, ldb: rowStride, c: left, ldc: rowStride)
                        total += combine(w: w, left: left, degree: deg.baseAddress!, count: count,
                                         coefficient: coefficient, gradient: gradient.map { $0 + first * area })
                        first += count
                    }
                }
            }
        }
        return total
    }

    /// g = c·(D⊙w − left) for one chunk; adds g into the gradient and returns ½Σ w·g in Double.
    private func combine(w: UnsafePointer<Float>, left: UnsafePointer<Float>, degree: UnsafePointer<Float>,
                         count: Int, coefficient: Double, gradient: UnsafeMutablePointer<Float>?) -> Double {
        let kh = kernelHeight, kw = kernelWidth, area = kh * kw
        let rowStride = count * kw
        let cf = Float(coefficient)
        var value = 0.0
        for s in 0..<count {
            let ws = w + s * area
            let gs = gradient.map { $0 + s * area }
            for p in 0..<kh {
                let lrow = left + p * rowStride + s * kw
                let base = p * kw
                var rowValue: Float = 0   // short Float partial sums (≤ kw terms), summed in Double
                for q in 0..<kw {
                    let x = ws[base + q]
                    let quad = degree[base + q] * x - lrow[q]
                    rowValue += x * quad
                    if let gs { gs[base + q] += cf * quad }
                }
                value += Double(rowValue)
            }
        }
        return 0.5 * coefficient * value
    }

    /// Dispatches on the penalty kind for a weight shaped O×I×kh×kw of this regularizer's kernel.
    public func penalty(_ kind: WeightPenalty, weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                        scale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double {
        switch kind {
        case .continuity:
            return apply(weight: weight, outChannels: outChannels, inChannels: inChannels, scale: scale,
                         gradient: gradient)
        case .l2:
            return l2Penalty(weight: weight, count: outChannels * inChannels * kernelHeight * kernelWidth,
                             scale: scale, gradient: gradient)
        case .none:
            return 0
        }
    }
}

/// The L2 ablation of the circle experiment: returns scale·mean(W²) and ADDS scale·2W/count into
/// `gradient` when it is non-nil. The value is accumulated in Double.
public func l2Penalty(weight: UnsafePointer<Float>, count: Int, scale: Float,
                      gradient: UnsafeMutablePointer<Float>?) -> Double {
    guard count > 0 else { return 0 }
    var sum = 0.0
    for i in 0..<count { sum += Double(weight[i]) * Double(weight[i]) }
    if let gradient {
        let g = 2 * scale / Float(count)
        for i in 0..<count { gradient[i] += g * weight[i] }
    }
    return Double(scale) * sum / Double(count)
}
