/// The fixed-step explicit Runge–Kutta methods the latent fields are trained and rolled out with,
/// as Butcher tableaux (one code path integrates and backpropagates all of them):
///
///     k_i = f(x + τ·Σ_{j<i} a_ij·k_j),   x ← x + τ·Σ_i b_i·k_i.
public enum FixedStepMethod: String, Sendable, CaseIterable, Codable {
    /// Explicit midpoint (RK2), the reference's integrator: x ← x + τ·f(x + τ/2·f(x)). Order 2.
    case midpoint
    /// Classical Runge–Kutta, order 4.
    case rk4

    /// Lower-triangular stage coefficients a_ij (row i lists j < i).
    public var a: [[Float]] {
        switch self {
        case .midpoint: return [[], [0.5]]
        case .rk4: return [[], [0.5], [0, 0.5], [0, 0, 1]]
        }
    }

    /// Weights b_i of the stages in the update.
    public var b: [Float] {
        switch self {
        case .midpoint: return [0, 1]
        case .rk4: return [1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6]
        }
    }

    public var stages: Int { b.count }

    /// Global order of accuracy (error ∝ τ^order).
    public var order: Int { self == .midpoint ? 2 : 4 }
}
