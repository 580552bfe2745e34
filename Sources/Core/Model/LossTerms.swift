/// The terms of one step's objective, each already weighted as it enters the total.
public struct LossTerms: Codable, Sendable, Equatable {
    /// MSE(D(E(X)), X).
    public var reconstruction: Double = 0
    /// λ·2·MSE(Φ(E(X)), E(Y)) (reference objective).
    public var latent: Double = 0
    /// λ·MSE(D(Φ(E(X))), Y) (reference objective).
    public var prediction: Double = 0
    /// The weight penalty (J or L2).
    public var penalty: Double = 0

    public init() {}

    public var data: Double { reconstruction + latent + prediction }
    public var total: Double { data + penalty }

    /// Names and values in a fixed order (logs, allreduce packing).
    public var named: [(String, Double)] {
        [("reconstruction", reconstruction), ("latent", latent), ("prediction", prediction), ("penalty", penalty)]
    }

    public var allFinite: Bool { named.allSatisfy { $0.1.isFinite } }
}
