/// Fully connected layer y = x·Wᵀ + b with PyTorch's layout: weight [out, in], bias [out].
public final class Linear {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Param
    public let bias: Param?
    public unowned let store: ParameterStore

    /// Default initialisation is PyTorch's: weight and bias U(±1/√in).
    public init(store: ParameterStore, name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                weightInit: Initializer? = nil, biasInit: Initializer? = nil) {
        self.store = store
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = store.addParameter("\(name).weight", shape: [outFeatures, inFeatures],
                                    initializer: weightInit ?? .uniform(bound: bound))
        self.bias = bias ? store.addParameter("\(name).bias", shape: [outFeatures],
                                              initializer: biasInit ?? .uniform(bound: bound)) : nil
    }

    /// Samples in x, checking that each carries exactly `inFeatures` values.
    private func batch(_ x: Tensor) -> Int {
        precondition(x.rank >= 2 && x.count == x.shape[0] * inFeatures,
                     "Linear(\(inFeatures)→\(outFeatures)): expected N×\(inFeatures) (or N×… with \(inFeatures) per sample), got \(x.shape)")
        return x.shape[0]
    }

    /// x: N×in (or N×… with in trailing elements per sample) → N×out.
    public func forward(_ x: Tensor) -> Tensor {
        let n = batch(x)
        let y = Tensor(uninitialized: [n, outFeatures])
        var beta: Float = 0
        if let bias {
            // Seed every row with b, then let GEMM accumulate onto it.
            let b = store.value(bias)
            for i in 0..<n { (y.data + i * outFeatures).update(from: b, count: outFeatures) }
            beta = 1
        }
        // Deterministic mode: one GEMM per sample, the same shape whatever the batch.
        for (first, rows) in sampleGroups(n) {
            sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures,
                  a: x.data + first * inFeatures, lda: inFeatures, b: store.value(weight), ldb: inFeatures,
                  beta: beta, c: y.data + first * outFeatures, ldc: outFeatures)
        }
        return y
    }

    /// The whole batch as one group, or one group per sample in the deterministic mode.
    private func sampleGroups(_ n: Int) -> [(first: Int, rows: Int)] {
        store.exact == nil ? [(0, n)] : (0..<n).map { ($0, 1) }
    }

    /// Accumulates dW, db; returns dx shaped like x.
    public func backward(_ dy: Tensor, input x: Tensor) -> Tensor {
        let n = batch(x)
        precondition(dy.shape == [n, outFeatures], "Linear.backward: dy \(dy.shape), expected [\(n), \(outFeatures)]")
        let dx = Tensor(uninitialized: x.shape)
        for (first, rows) in sampleGroups(n) {
            let dyRows = dy.data + first * outFeatures, xRows = x.data + first * inFeatures
            // dW += dyᵀ·x   (out×N · N×in)
            sgemm(transA: true, m: outFeatures, n: inFeatures, k: rows,
                  a: dyRows, lda: outFeatures, b: xRows, ldb: inFeatures,
                  beta: 1, c: store.gradient(weight), ldc: inFeatures)
            if let bias {
                let gb = store.gradient(bias)
                for o in 0..<outFeatures {
                    var s: Float = 0
                    for i in 0..<rows { s += dyRows[i * outFeatures + o] }
                    gb[o] += s
                }
            }
            // dx = dy·W   (N×out · out×in)
            sgemm(m: rows, n: inFeatures, k: outFeatures,
                  a: dyRows, lda: outFeatures, b: store.value(weight), ldb: inFeatures,
                  c: dx.data + first * inFeatures, ldc: inFeatures)
            if store.exact != nil {
                store.fold(weight)
                if let bias { store.fold(bias) }
            }
        }
        return dx
    }
}
