// STUB until the optimizer branch lands.
public final class Adam {
    public init(parameterCount: Int, weightDecay: Float) {}
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, learningRate: Float) {}
    func broadcastState(from root: Int, over group: ReplicaGroup) {}
}
public enum Checkpoint {
    public static func save(to path: String, model: Autoencoder, optimizer: Adam?, metadata: [String: String]) throws {}
}
