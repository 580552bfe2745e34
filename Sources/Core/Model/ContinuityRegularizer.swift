// STUB (replaced by the regularizer/VPNet branch on merge).
public struct ContinuityRegularizer {
    public init(kernelHeight: Int, kernelWidth: Int) {}
    public func apply(weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, scale: Float,
                      gradient: UnsafeMutablePointer<Float>?) -> Double { fatalError("stub") }
}
public func l2Penalty(weight: UnsafePointer<Float>, count: Int, scale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double { fatalError("stub") }
