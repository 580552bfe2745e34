#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam (Kingma & Ba) over one flat parameter buffer, with PyTorch's `torch.optim.Adam` semantics:
///
///     g ← g + λ·θ                      (only if weightDecay λ ≠ 0: L2-style, not AdamW)
///     m ← m + (1 − β₁)·(g − m)         (= β₁·m + (1 − β₁)·g, PyTorch's lerp form)
///     v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// The bias corrections are computed in Double once per step, as PyTorch does in Python floats, and
/// the element-wise operations run in Float in PyTorch's order, so results agree with PyTorch to a
/// few ulps (PyTorch's vector kernels fuse some multiply-adds; this loop does not).
///
/// The moments live in two contiguous buffers parallel to the parameter buffer, so one step is one
/// pass over four arrays: the loop is memory-bound and vectorises (no branches, no calls).
public final class Adam {
    public let parameterCount: Int
    public let beta1: Double
    public let beta2: Double
    public let epsilon: Double
    public let weightDecay: Double
    /// Number of updates taken so far (PyTorch's `state['step']`); the next update uses step + 1.
    public var step: Int = 0
    /// First moment m (`exp_avg`), `parameterCount` Floats, parallel to the parameter buffer.
    public let firstMoment: UnsafeMutablePointer<Float>
    /// Second moment v (`exp_avg_sq`), `parameterCount` Floats.
    public let secondMoment: UnsafeMutablePointer<Float>

    public init(parameterCount: Int, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0) {
        precondition(parameterCount >= 0, "negative parameter count")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam betas must lie in [0, 1)")
        precondition(epsilon >= 0 && weightDecay >= 0, "Adam epsilon and weight decay must be ≥ 0")
        self.parameterCount = parameterCount
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = .allocate(capacity: max(parameterCount, 1))
        secondMoment = .allocate(capacity: max(parameterCount, 1))
        firstMoment.initialize(repeating: 0, count: parameterCount)
        secondMoment.initialize(repeating: 0, count: parameterCount)
    }

    /// An optimizer sized for (and to be used with) one parameter store.
    public convenience init(store: ParameterStore, beta1: Double = 0.9, beta2: Double = 0.999,
                            epsilon: Double = 1e-8, weightDecay: Double = 0) {
        self.init(parameterCount: store.parameterCount, beta1: beta1, beta2: beta2, epsilon: epsilon,
                  weightDecay: weightDecay)
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
    }

    /// Clears the moments and the step counter (a fresh optimizer).
    public func reset() {
        step = 0
        firstMoment.update(repeating: 0, count: parameterCount)
        secondMoment.update(repeating: 0, count: parameterCount)
    }

    /// One Adam update of `parameterCount` parameters in place from their gradients.
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                       learningRate: Float) {
        step += 1
        let t = Double(step)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        // PyTorch: step_size = lr / bc1, denom = sqrt(v) / sqrt(bc2) + eps, θ += (−step_size)·m / denom.
        let negStepSize = Float(-(Double(learningRate) / biasCorrection1))
        let bc2Sqrt = Float(biasCorrection2.squareRoot())
        let oneMinusBeta1 = Float(1 - beta1), beta2f = Float(beta2), oneMinusBeta2 = Float(1 - beta2)
        let eps = Float(epsilon)
        let m = firstMoment, v = secondMoment, p = parameters
        let n = parameterCount
        // Two copies of the loop so the common case (no decay) carries no extra load of θ into g.
        if weightDecay == 0 {
            for i in 0..<n {
                let g = gradients[i]
                let mi = m[i] + oneMinusBeta1 * (g - m[i])
                let vi = beta2f * v[i] + oneMinusBeta2 * (g * g)
                m[i] = mi
                v[i] = vi
                p[i] = p[i] + negStepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
            }
        } else {
            let lambda = Float(weightDecay)
            for i in 0..<n {
                let g = gradients[i] + lambda * p[i]
                let mi = m[i] + oneMinusBeta1 * (g - m[i])
                let vi = beta2f * v[i] + oneMinusBeta2 * (g * g)
                m[i] = mi
                v[i] = vi
                p[i] = p[i] + negStepSize * mi / (vi.squareRoot() / bc2Sqrt + eps)
            }
        }
    }

    /// One update of every trainable parameter of `store` from its gradient buffer.
    public func update(_ store: ParameterStore, learningRate: Float) {
        precondition(store.parameterCount == parameterCount,
                     "Adam was built for \(parameterCount) parameters, the store has \(store.parameterCount)")
        update(parameters: store.values, gradients: store.gradients, learningRate: learningRate)
    }

    /// Copies of the moments (tests, reports).
    public var firstMomentArray: [Float] { Array(UnsafeBufferPointer(start: firstMoment, count: parameterCount)) }
    public var secondMomentArray: [Float] { Array(UnsafeBufferPointer(start: secondMoment, count: parameterCount)) }
}
