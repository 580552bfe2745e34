/// One step of `cpae-mpi run`, in the order the pipeline takes them: the dataset, then per model
/// phase 1, its latents, phase 2 and its evaluation, then the report over all models.
public enum PipelineStage: Hashable, Sendable {
    case data
    case trainAutoencoder(ModelVariant)
    case encode(ModelVariant)
    case trainLatentModel(ModelVariant)
    case evaluate(ModelVariant)
    /// The circle ablation's one stage per model (its restarts, their latent fields and scores).
    case circle(ModelVariant)
    case report

    /// Every stage of a configuration, in order. Models go one after the other through all their
    /// stages, so the first model's result (and the time per stage kind) is known early.
    public static func plan(_ c: Configuration) -> [PipelineStage] {
        if c.isCircleAblation { return c.models.map(PipelineStage.circle) + [.report] }
        return [.data] + c.models.flatMap { [.trainAutoencoder($0), .encode($0), .trainLatentModel($0), .evaluate($0)] } + [.report]
    }

    /// The name in progress lines and in pipeline.json ("train-ae cpae").
    public var name: String {
        switch self {
        case .data: return "data"
        case .trainAutoencoder(let m): return "train-ae \(m.rawValue)"
        case .encode(let m): return "encode \(m.rawValue)"
        case .trainLatentModel(let m): return "train-ode \(m.rawValue)"
        case .evaluate(let m): return "evaluate \(m.rawValue)"
        case .circle(let m): return "circle \(m.rawValue)"
        case .report: return "report"
        }
    }

    /// Stages of one kind take similar time (the ETA's estimate for a stage not yet run).
    public var kind: String { Self.kind(ofName: name) }

    /// The kind of the stage called `name` (pipeline.json keeps names).
    public static func kind(ofName name: String) -> String { String(name.split(separator: " ").first ?? "") }
}
