/// Everything that determines a latent dynamics model, saved in `ode/<kind>/config.json` and in every
/// checkpoint, so `evaluate` rebuilds exactly the model that was trained.
public struct LatentModelConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Neural ODE: an MLP vector field (the reference: d → 256 → 256 → d, tanh).
        case mlp
        /// Hamiltonian neural network: the field is the symplectic gradient of an MLP H.
        case hnn
        /// LA-SympNet: a discrete symplectic map per frame (no fractional times).
        case sympnet
    }

    public var kind: Kind
    /// Latent dimension d (from the latent manifest).
    public var dimension: Int
    /// Hidden widths: the MLP field's layers, or H's two hidden layers (hnn uses the first width).
    public var hiddenWidths: [Int]
    /// SympNet: linear+activation module pairs, and shear sublayers per linear module.
    public var sympnetLayers: Int
    public var sympnetSublayers: Int
    /// Time units per frame: the reference's nominal h = 0.01 (not the physical frame interval).
    public var frameStep: Float
    /// The fixed-step training integrator and its substeps per frame (the reference: midpoint, 2).
    public var method: FixedStepMethod
    public var substeps: Int
    /// Targets per training start: 1 is the reference's one-step loss MSE/h²; k > 1 the mean over a
    /// k-frame rollout.
    public var rolloutSteps: Int

    public init(kind: Kind, dimension: Int, hiddenWidths: [Int] = [256, 256], sympnetLayers: Int = 3,
                sympnetSublayers: Int = 2, frameStep: Float = 0.01, method: FixedStepMethod = .midpoint,
                substeps: Int = 2, rolloutSteps: Int = 1) {
        self.kind = kind; self.dimension = dimension; self.hiddenWidths = hiddenWidths
        self.sympnetLayers = sympnetLayers; self.sympnetSublayers = sympnetSublayers
        self.frameStep = frameStep; self.method = method; self.substeps = substeps; self.rolloutSteps = rolloutSteps
    }

    /// A freshly initialised model (seeded: the same seed gives the same weights on every rank and run).
    public func build(seed: UInt64, budget: ComputeBudget = .serial) throws -> LatentDynamics {
        guard rolloutSteps >= 1 else { throw ODEError.invalidArgument("rollout steps k = \(rolloutSteps) must be ≥ 1 (1: the reference's one-step loss)") }
        guard !hiddenWidths.isEmpty, hiddenWidths.allSatisfy({ $0 >= 1 }) else {
            throw ODEError.invalidArgument("hidden widths \(hiddenWidths) must be one or more positive numbers, e.g. 256,256")
        }
        let model: LatentDynamics
        switch kind {
        case .mlp:
            let field = try MLPVectorField(dimension: dimension, hiddenWidths: hiddenWidths, seed: seed)
            model = try FieldDynamics(field: field, frameStep: frameStep, method: method, substeps: substeps)
        case .hnn:
            let field = try HamiltonianField(dimension: dimension, width: hiddenWidths[0], seed: seed)
            model = try FieldDynamics(field: field, frameStep: frameStep, method: method, substeps: substeps)
        case .sympnet:
            let map = try SympNetMap(dimension: dimension, layers: sympnetLayers, sublayers: sympnetSublayers, seed: seed)
            model = try SympNetDynamics(map: map, frameStep: frameStep)
        }
        model.budget = budget
        return model
    }
}
