/// An autonomous vector field dz/dt = f_θ(z) on batch-major latents [rows, dimension], with the
/// vector–Jacobian product the fixed-step integrators backpropagate through.
///
/// Pointer-based and free of per-call allocation: the integrator owns all memory. For one
/// evaluation it hands the field a *record* (`recordFloatsPerRow`·rows Floats) to keep what the
/// pullback needs, and a *scratch* (`scratchFloatsPerRow`·rows Floats) for temporaries. Parameter
/// values are read from `store`; parameter gradients are ADDED into a caller-given buffer laid out
/// like `store.gradients` (same offsets), so every worker thread can own one.
/// Implementations must be safe to call from several threads at once on disjoint buffers.
public protocol VectorField: AnyObject {
    /// The field's parameters (names stable for checkpoints).
    var store: ParameterStore { get }
    /// Latent dimension d.
    var dimension: Int { get }
    /// Floats per row the pullback needs kept from an evaluation.
    var recordFloatsPerRow: Int { get }
    /// Floats per row of temporary scratch for `evaluate` and `pullback`.
    var scratchFloatsPerRow: Int { get }

    /// f(x) for `rows` rows of x into `output` (rows×d). When `record` is non-nil, keeps in it what
    /// `pullback` needs (the input included, so x may be overwritten afterwards).
    func evaluate(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                  record: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>)

    /// For a cotangent v̄ (rows×d) of the recorded evaluation: OVERWRITES `inputGradient` with
    /// (∂f/∂x)ᵀ v̄ and ADDS (∂f/∂θ)ᵀ v̄ into `parameterGradients` (laid out like `store.gradients`).
    func pullback(record: UnsafePointer<Float>, rows: Int, cotangent: UnsafePointer<Float>,
                  inputGradient: UnsafeMutablePointer<Float>, parameterGradients: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutablePointer<Float>)

    /// Multiply–adds of one evaluation per row (benchmarks' FLOP counts); pullback counts 2×.
    var multiplyAddsPerRow: Int { get }
}

extension VectorField {
    /// f(x) for a flat [rows·d] array (tests, evaluation; allocates).
    public func evaluate(_ x: [Float]) -> [Float] {
        let d = dimension
        precondition(x.count % d == 0, "VectorField.evaluate: \(x.count) values is not a whole number of \(d)-dim rows")
        let rows = x.count / d
        var out = [Float](repeating: 0, count: x.count)
        var scratch = [Float](repeating: 0, count: max(1, rows * scratchFloatsPerRow))
        x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBufferPointer { op in
                scratch.withUnsafeMutableBufferPointer { sp in
                    evaluate(xp.baseAddress!, rows: rows, into: op.baseAddress!, record: nil, scratch: sp.baseAddress!)
                }
            }
        }
        return out
    }

    /// (f(x), (∂f/∂x)ᵀ v̄, (∂f/∂θ)ᵀ v̄) for flat arrays; the parameter part has `store.parameterCount`
    /// entries (tests; allocates, does not touch `store.gradients`).
    public func vjp(_ x: [Float], cotangent: [Float]) -> (value: [Float], input: [Float], parameters: [Float]) {
        let d = dimension
        precondition(x.count % d == 0 && cotangent.count == x.count, "VectorField.vjp: shapes \(x.count), \(cotangent.count) for d = \(d)")
        let rows = x.count / d
        var out = [Float](repeating: 0, count: x.count), dx = out
        var record = [Float](repeating: 0, count: max(1, rows * recordFloatsPerRow))
        var scratch = [Float](repeating: 0, count: max(1, rows * scratchFloatsPerRow))
        var dp = [Float](repeating: 0, count: max(1, store.parameterCount))
        x.withUnsafeBufferPointer { xp in
            record.withUnsafeMutableBufferPointer { rp in
                scratch.withUnsafeMutableBufferPointer { sp in
                    out.withUnsafeMutableBufferPointer { op in
                        evaluate(xp.baseAddress!, rows: rows, into: op.baseAddress!, record: rp.baseAddress!, scratch: sp.baseAddress!)
                    }
                    cotangent.withUnsafeBufferPointer { cp in
                        dx.withUnsafeMutableBufferPointer { dxp in
                            dp.withUnsafeMutableBufferPointer { dpp in
                                pullback(record: rp.baseAddress!, rows: rows, cotangent: cp.baseAddress!,
                                         inputGradient: dxp.baseAddress!, parameterGradients: dpp.baseAddress!, scratch: sp.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return (out, dx, Array(dp.prefix(store.parameterCount)))
    }
}
