// STUB (replaced by the regularizer/VPNet branch on merge).
public struct VPNetCache {}
public final class VPNet {
    public init(store: ParameterStore, name: String, dimension: Int) throws { fatalError("VPNet stub") }
    public func forward(_ z: Tensor) -> (Tensor, VPNetCache) { fatalError("VPNet stub") }
    public func backward(_ dy: Tensor, cache: VPNetCache) -> Tensor { fatalError("VPNet stub") }
}
