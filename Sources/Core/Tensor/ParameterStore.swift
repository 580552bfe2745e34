/// How a parameter is initialised (PyTorch defaults, docs/method.md §Architectures).
public enum Initializer: Sendable {
    case uniform(bound: Float)       // U(−bound, bound)
    case normal(std: Float)          // N(0, std²)
    case constant(Float)
    case orthogonal(gain: Float)     // rows/cols orthonormal for a 2-D [out, in] weight
}

/// Storage type of a tensor in a checkpoint; arena storage is always Float.
public enum StoredType: String, Sendable { case f32 = "F32", i64 = "I64" }

/// A handle to one tensor in the store: an offset into one of its two buffers.
public struct Param: Sendable, Hashable {
    public let index: Int
    public let offset: Int
    public let count: Int
}

/// One model's parameters in ONE contiguous buffer and its gradients in another (llm.c style), so
/// a gradient allreduce, an Adam step, a checkpoint or a NaN check is one walk over one buffer.
/// Non-trainable state (BatchNorm running statistics) lives in a third buffer of its own.
///
/// Layers keep `Param` handles and ask for pointers at use time; the buffers may grow while a model
/// is being built, so no raw pointer is kept across calls.
public final class ParameterStore {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public let count: Int
        public let stored: StoredType
    }

    public private(set) var parameters: [Entry] = []
    public private(set) var buffers: [Entry] = []
    public private(set) var parameterCount = 0
    public private(set) var bufferCount = 0
    public private(set) var values: UnsafeMutablePointer<Float>
    public private(set) var gradients: UnsafeMutablePointer<Float>
    public private(set) var bufferValues: UnsafeMutablePointer<Float>
    private var parameterCapacity = 1024
    private var bufferCapacity = 256
    /// Initialisation draws from this generator in registration order.
    public var rng: RNG

    public init(seed: UInt64) {
        rng = RNG(seed: seed)
        values = .allocate(capacity: parameterCapacity)
        gradients = .allocate(capacity: parameterCapacity)
        bufferValues = .allocate(capacity: bufferCapacity)
    }

    deinit {
        values.deallocate(); gradients.deallocate(); bufferValues.deallocate()
    }

    /// Registers a trainable tensor and initialises it from the store's generator.
    @discardableResult
    public func addParameter(_ name: String, shape: [Int], initializer: Initializer) -> Param {
        precondition(!parameters.contains { $0.name == name } , "duplicate parameter \(name)")
        let count = shape.reduce(1, *)
        grow(parameters: parameterCount + count)
        let p = Param(index: parameters.count, offset: parameterCount, count: count)
        parameters.append(Entry(name: name, shape: shape, offset: parameterCount, count: count, stored: .f32))
        parameterCount += count
        initialize(values + p.offset, shape: shape, initializer)
        (gradients + p.offset).initialize(repeating: 0, count: count)
        return p
    }

    /// Registers a non-trainable tensor (running statistics, counters) with a constant value.
    @discardableResult
    public func addBuffer(_ name: String, shape: [Int], value: Float, stored: StoredType = .f32) -> Param {
        precondition(!buffers.contains { $0.name == name }, "duplicate buffer \(name)")
        let count = shape.reduce(1, *)
        grow(buffers: bufferCount + count)
        let p = Param(index: buffers.count, offset: bufferCount, count: count)
        buffers.append(Entry(name: name, shape: shape, offset: bufferCount, count: count, stored: stored))
        bufferCount += count
        (bufferValues + p.offset).initialize(repeating: value, count: count)
        return p
    }

    @inline(__always) public func value(_ p: Param) -> UnsafeMutablePointer<Float> { values + p.offset }
    @inline(__always) public func gradient(_ p: Param) -> UnsafeMutablePointer<Float> { gradients + p.offset }
    @inline(__always) public func buffer(_ p: Param) -> UnsafeMutablePointer<Float> { bufferValues + p.offset }

    public func zeroGradients() {
        gradients.update(repeating: 0, count: parameterCount)
        exact?.zero()
    }

    /// Set in the deterministic mode (docs/distributed.md §Deterministic): the exact per-parameter sums
    /// of the per-sample gradients. Layers then compute one sample at a time into `gradients` and
    /// `fold` each sample's contribution in, so no floating-point sum ever runs over samples.
    public var exact: ExactGradients?

    /// Deterministic mode: moves `p`'s gradient (one sample's contribution) into the exact sums and
    /// zeroes it.
    @inline(__always)
    public func fold(_ p: Param, threads: Int = 1) {
        exact!.fold(gradient(p), at: p.offset, length: p.count, threads: threads)
    }

    /// `count` floats right after the last gradient, so values that must travel with the gradient
    /// (the step's loss terms and non-finite count) join it in ONE allreduce (llm.c style). Call it
    /// once the model is built: registering another parameter afterwards reuses these floats.
    public func gradientTail(_ count: Int) -> UnsafeMutablePointer<Float> {
        grow(parameters: parameterCount + count)
        return gradients + parameterCount
    }

    public func parameter(named name: String) -> Entry? { parameters.first { $0.name == name } }
    public func bufferEntry(named name: String) -> Entry? { buffers.first { $0.name == name } }

    /// Values of one parameter as an array (tests, reports).
    public func valueArray(_ p: Param) -> [Float] { Array(UnsafeBufferPointer(start: value(p), count: p.count)) }
    public func gradientArray(_ p: Param) -> [Float] { Array(UnsafeBufferPointer(start: gradient(p), count: p.count)) }

    private func grow(parameters needed: Int) {
        guard needed > parameterCapacity else { return }
        var cap = parameterCapacity
        while cap < needed { cap *= 2 }
        values = Self.reallocate(values, count: parameterCount, capacity: cap)
        gradients = Self.reallocate(gradients, count: parameterCount, capacity: cap)
        parameterCapacity = cap
    }

    private func grow(buffers needed: Int) {
        guard needed > bufferCapacity else { return }
        var cap = bufferCapacity
        while cap < needed { cap *= 2 }
        bufferValues = Self.reallocate(bufferValues, count: bufferCount, capacity: cap)
        bufferCapacity = cap
    }

    private static func reallocate(_ p: UnsafeMutablePointer<Float>, count: Int, capacity: Int) -> UnsafeMutablePointer<Float> {
        let q = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
        q.update(from: p, count: count)
        p.deallocate()
        return q
    }

    private func initialize(_ p: UnsafeMutablePointer<Float>, shape: [Int], _ initializer: Initializer) {
        let count = shape.reduce(1, *)
        switch initializer {
        case .constant(let v):
            p.initialize(repeating: v, count: count)
        case .uniform(let bound):
            for i in 0..<count { p[i] = (2 * rng.uniformFloat() - 1) * bound }
        case .normal(let std):
            for i in 0..<count { p[i] = Float(rng.normal()) * std }
        case .orthogonal(let gain):
            precondition(shape.count == 2, "orthogonal init needs a 2-D weight")
            let m = orthogonalMatrix(rows: shape[0], cols: shape[1], rng: &rng)
            for i in 0..<count { p[i] = Float(m[i]) * gain }
        }
    }
}

/// A rows×cols matrix with orthonormal rows (rows ≤ cols) or columns (rows > cols), from Gram–Schmidt
/// on Gaussian draws, as torch.nn.init.orthogonal_ produces in distribution.
func orthogonalMatrix(rows: Int, cols: Int, rng: inout RNG) -> [Double] {
    let tall = rows > cols
    let (r, c) = tall ? (cols, rows) : (rows, cols)   // build r orthonormal vectors of length c
    var q = [Double](repeating: 0, count: r * c)
    var i = 0
    while i < r {
        var v = (0..<c).map { _ in rng.normal() }
        for _ in 0..<2 {   // re-orthogonalise once for accuracy
            for j in 0..<i {
                var dot = 0.0
                for k in 0..<c { dot += v[k] * q[j * c + k] }
                for k in 0..<c { v[k] -= dot * q[j * c + k] }
            }
        }
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm < 1e-8 { continue }
        for k in 0..<c { q[i * c + k] = v[k] / norm }
        i += 1
    }
    if !tall { return q }
    var t = [Double](repeating: 0, count: rows * cols)   // transpose back to rows×cols
    for a in 0..<r { for b in 0..<c { t[b * cols + a] = q[a * c + b] } }
    return t
}
