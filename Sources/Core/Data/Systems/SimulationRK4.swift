/// Ground-truth state of a simulated system, at most 8 numbers (the elastic pendulum needs 6).
/// SIMD storage keeps the integrator allocation-free: a dataset takes tens of millions of steps.
public typealias SimulationState = SIMD8<Double>

/// Classical fixed-step fourth-order Runge–Kutta. A fixed step (many substeps per frame) makes
/// every state a deterministic function of the initial state and the time, bit for bit: the frame
/// states and `state(at:)` share one step sequence, so rendering at a frame time reproduces the
/// dataset frame exactly. With the default substeps the global error is below 1e-10 (far below a
/// pixel, which is ~1e-3 of the scene) — `SimulatorTests` checks convergence by halving the step.
public enum SimulationRK4 {
    @inline(__always)
    public static func step(_ y: SimulationState, _ h: Double, _ f: (SimulationState) -> SimulationState) -> SimulationState {
        let k1 = f(y)
        let k2 = f(y + (0.5 * h) * k1)
        let k3 = f(y + (0.5 * h) * k2)
        let k4 = f(y + h * k3)
        return y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
    }

    /// `steps` steps of size `h`.
    @inline(__always)
    public static func integrate(_ y0: SimulationState, steps: Int, h: Double, _ f: (SimulationState) -> SimulationState) -> SimulationState {
        var y = y0
        for _ in 0..<steps { y = step(y, h, f) }
        return y
    }
}
