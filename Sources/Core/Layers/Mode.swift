/// Training uses batch statistics in BatchNorm and updates running statistics; eval uses the
/// running statistics and changes nothing.
public enum Mode: Sendable { case train, eval }

/// Sums across data-parallel replicas. Core defines it so that layers (synchronized BatchNorm)
/// and the trainer can reduce without knowing about MPI; `Distributed` implements it over MPI.
public protocol Reducer: AnyObject {
    /// Number of replicas taking part (1 in a single process).
    var replicas: Int { get }
    /// In-place sum over replicas.
    func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int)
    func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
}

/// The single-process reducer: every sum is already complete.
public final class LocalReducer: Reducer {
    public init() {}
    public var replicas: Int { 1 }
    public func sum(_ buffer: UnsafeMutablePointer<Double>, count: Int) {}
    public func sum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
}
