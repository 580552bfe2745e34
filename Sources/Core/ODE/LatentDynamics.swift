/// Direction of a rollout in time.
public enum TimeDirection: String, Sendable, Codable {
    case forward, backward
}

/// A learned model of the latent dynamics, as the phase-2 trainer and evaluator use it: its
/// parameters, a loss-and-gradient entry point for a batch, and rollouts in either time direction.
///
/// Latents are batch-major [rows, d] Float arrays. h (`frameStep`) is the time of one frame (the
/// reference: 0.01); the loss is the reference's MSE/h² (mean over the k predicted frames).
///
///     let field = try MLPVectorField(dimension: 8, hiddenWidths: [256, 256], seed: 1)
///     let model = try FieldDynamics(field: field, frameStep: 0.01, method: .midpoint, substeps: 2,
///                                   budget: ComputeBudget(threads: 2))
///     let adam = Adam(store: model.store)
///     model.store.zeroGradients()
///     let loss = model.lossAndGradient(starts: z0, targets: [z1])      // one-step reference loss
///     adam.update(model.store, learningRate: lr)
///     let path = try model.rollout(start: z0, frames: 58, direction: .forward)  // 59 states
public protocol LatentDynamics: AnyObject {
    var store: ParameterStore { get }
    var dimension: Int { get }
    /// Time units per frame (h).
    var frameStep: Float { get }
    /// Threads the model may use (the caller owns the cores; OpenBLAS single-threaded).
    var budget: ComputeBudget { get set }
    /// Whether the model has states between frames: a vector field does (it integrates to any
    /// time); a discrete per-frame map does not, and `states(from:atFrameTimes:)` throws for
    /// fractional times. The evaluator scores interpolation only when this holds.
    var predictsBetweenFrames: Bool { get }

    /// L = (1/k)·Σ_{j=1…k} MSE(prediction j frames ahead, targets[j−1]) / h² for `rows` starts
    /// (rows×d) and k = targets.count targets (rows×d each). ADDS ∂L/∂θ into `store.gradients`
    /// (zero them first for a fresh step); OVERWRITES `startGradient` with ∂L/∂starts when given.
    @discardableResult
    func lossAndGradient(starts: UnsafePointer<Float>, targets: [UnsafePointer<Float>], rows: Int,
                         startGradient: UnsafeMutablePointer<Float>?) -> Double

    /// States at frames 0, 1, …, `frames` (rows×d flat each) from `start`, forward or backward in time.
    func rollout(start: [Float], frames: Int, direction: TimeDirection) throws -> [[Float]]

    /// States at the given frame times (fractional allowed; negative = before the start). Discrete
    /// maps only have whole frames and throw for fractional times.
    func states(from start: [Float], atFrameTimes times: [Double]) throws -> [[Float]]
}

extension LatentDynamics {
    /// Array form of `lossAndGradient` (flat rows×d arrays).
    @discardableResult
    public func lossAndGradient(starts: [Float], targets: [[Float]]) -> Double {
        let d = dimension
        precondition(!starts.isEmpty && starts.count % d == 0 && !targets.isEmpty && targets.allSatisfy { $0.count == starts.count },
                     "lossAndGradient: starts (\(starts.count)) and every one of ≥ 1 targets must hold the same whole number of \(d)-dim rows")
        return withPointers(targets) { tp in
            starts.withUnsafeBufferPointer { sp in
                lossAndGradient(starts: sp.baseAddress!, targets: tp, rows: starts.count / d, startGradient: nil)
            }
        }
    }
}

/// How a `FieldDynamics` rolls out: the training integrator, or adaptive Dormand–Prince.
public enum RolloutSolver {
    case fixedStep
    case adaptive(DormandPrince5)
}

/// A vector field with its integrator: a continuous-time `LatentDynamics` (MLP field or HNN).
/// Training always backpropagates through the fixed-step `integrator`; rollouts use `rolloutSolver`.
public final class FieldDynamics: LatentDynamics {
    public let field: VectorField
    public let integrator: FixedStepIntegrator
    public let frameStep: Float
    public var rolloutSolver: RolloutSolver = .fixedStep

    public init(field: VectorField, frameStep: Float = 0.01, method: FixedStepMethod = .midpoint, substeps: Int = 2,
                budget: ComputeBudget = .serial) throws {
        guard frameStep.isFinite, frameStep > 0 else {
            throw ODEError.invalidArgument("FieldDynamics: frameStep h = \(frameStep) must be positive (the reference uses 0.01; roll out backwards with direction: .backward)")
        }
        self.field = field
        self.frameStep = frameStep
        integrator = try FixedStepIntegrator(field: field, method: method, substeps: substeps, budget: budget)
    }

    public var store: ParameterStore { field.store }
    public var dimension: Int { field.dimension }
    public var predictsBetweenFrames: Bool { true }
    public var budget: ComputeBudget {
        get { integrator.budget }
        set { integrator.budget = newValue }
    }

    @discardableResult
    public func lossAndGradient(starts: UnsafePointer<Float>, targets: [UnsafePointer<Float>], rows: Int,
                                startGradient: UnsafeMutablePointer<Float>?) -> Double {
        integrator.lossAndGradient(starts: starts, targets: targets, rows: rows, frameStep: frameStep, startGradient: startGradient)
    }

    public func rollout(start: [Float], frames: Int, direction: TimeDirection) throws -> [[Float]] {
        let h = direction == .forward ? frameStep : -frameStep
        switch rolloutSolver {
        case .fixedStep:
            return try integrator.rollout(start: start, frames: frames, frameStep: h)
        case .adaptive(let solver):
            guard frames >= 0 else { throw ODEError.invalidArgument("rollout: frames = \(frames) must be ≥ 0") }
            return try solver.states(field, from: start, at: (0...frames).map { Double($0) * Double(h) }).states
        }
    }

    public func states(from start: [Float], atFrameTimes times: [Double]) throws -> [[Float]] {
        switch rolloutSolver {
        case .fixedStep:
            return try integrator.states(from: start, atFrameTimes: times, frameStep: frameStep)
        case .adaptive(let solver):
            return try solver.states(field, from: start, at: times.map { $0 * Double(frameStep) }).states
        }
    }
}

/// LA-SympNet as `LatentDynamics`: one map application per frame, the inverse map for backward
/// time; h only scales the loss (MSE/h², comparable with the fields' losses).
public final class SympNetDynamics: LatentDynamics {
    public let map: SympNetMap
    public let frameStep: Float
    /// The map's small per-row kernels run on one thread; kept for the protocol.
    public var budget: ComputeBudget = .serial

    public init(map: SympNetMap, frameStep: Float = 0.01) throws {
        guard frameStep.isFinite, frameStep > 0 else {
            throw ODEError.invalidArgument("SympNetDynamics: frameStep h = \(frameStep) must be positive (it scales the loss as MSE/h²)")
        }
        self.map = map
        self.frameStep = frameStep
    }

    public var store: ParameterStore { map.store }
    public var dimension: Int { map.dimension }
    /// One map application per frame: no states between frames.
    public var predictsBetweenFrames: Bool { false }

    @discardableResult
    public func lossAndGradient(starts: UnsafePointer<Float>, targets: [UnsafePointer<Float>], rows: Int,
                                startGradient: UnsafeMutablePointer<Float>?) -> Double {
        precondition(!targets.isEmpty, "lossAndGradient: give at least one target frame (k ≥ 1)")
        let d = dimension, n = rows * d, k = targets.count
        let h = Double(frameStep)
        let scale = 1 / (Double(k) * Double(n) * h * h)
        var x = Array(UnsafeBufferPointer(start: starts, count: n))
        var caches: [SympNetMap.Cache] = []
        var diffs: [[Float]] = []
        var sse = 0.0
        for j in 0..<k {
            let (y, cache) = map.forwardWithCache(x)
            caches.append(cache)
            var diff = y
            for i in 0..<n { diff[i] -= targets[j][i]; sse += Double(diff[i]) * Double(diff[i]) }
            diffs.append(diff)
            x = y
        }
        var bar = [Float](repeating: 0, count: n)
        for j in stride(from: k - 1, through: 0, by: -1) {
            for i in 0..<n { bar[i] += Float(2 * scale) * diffs[j][i] }
            bar = map.backward(bar, cache: caches[j], parameterGradients: store.gradients)
        }
        startGradient?.update(from: bar, count: n)
        return sse * scale
    }

    public func rollout(start: [Float], frames: Int, direction: TimeDirection) throws -> [[Float]] {
        try ODEChecks.rolloutArguments(start: start, dimension: dimension, frames: frames, h: frameStep)
        var out = [start]
        var x = start
        for f in 0..<frames {
            x = direction == .forward ? map.forward(x) : map.inverse(x)
            try ODEChecks.finite(x, frameTime: Double(direction == .forward ? f + 1 : -(f + 1)))
            out.append(x)
        }
        return out
    }

    public func states(from start: [Float], atFrameTimes times: [Double]) throws -> [[Float]] {
        try ODEChecks.rolloutArguments(start: start, dimension: dimension, frames: 0, h: frameStep)
        var out: [[Float]] = []
        var x = start, t = 0
        for time in times {
            guard time.isFinite, time == time.rounded() else {
                throw ODEError.invalidArgument("SympNetDynamics: frame time \(time) is not a whole frame; a discrete map has no states between frames (use a vector field for fractional times)")
            }
            let target = Int(time)
            while t < target { x = map.forward(x); t += 1 }
            while t > target { x = map.inverse(x); t -= 1 }
            try ODEChecks.finite(x, frameTime: time)
            out.append(x)
        }
        return out
    }
}
