/// Errors of the latent-dynamics code: each names the value at fault and what to do.
public enum ODEError: Error, CustomStringConvertible, Equatable {
    /// A constructor or call argument outside its domain (the message says which and why).
    case invalidArgument(String)
    /// The adaptive solver needed more than `limit` steps to get from `from` to `to` (it reached `reached`).
    case stepLimitExceeded(limit: Int, from: Double, to: Double, reached: Double)
    /// The adaptive step size fell below what Float can resolve at time `time`.
    case stepSizeUnderflow(time: Double, step: Double)
    /// A non-finite state appeared during a rollout at frame time `frameTime`.
    case nonFinite(frameTime: Double)

    public var description: String {
        switch self {
        case .invalidArgument(let m): return m
        case .stepLimitExceeded(let limit, let from, let to, let reached):
            return "DormandPrince5: \(limit) steps were not enough to integrate from t = \(from) to t = \(to) "
                + "(reached t = \(reached)); the field is stiff or blows up at these tolerances — raise maxSteps, "
                + "loosen rtol/atol, or use a fixed-step method"
        case .stepSizeUnderflow(let time, let step):
            return "DormandPrince5: step size \(step) underflowed at t = \(time) (the solution is probably singular "
                + "there); loosen rtol/atol or check the field for blow-up"
        case .nonFinite(let t):
            return "rollout: the latent state became non-finite at frame time \(t); the field diverges from this "
                + "start — check the model (NaN parameters?) or roll out fewer frames"
        }
    }
}
