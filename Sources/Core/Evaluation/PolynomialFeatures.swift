/// All monomials of a d-vector up to a degree, with the constant term: for degree 3,
/// 1, z_i, z_i·z_j (i ≤ j), z_i·z_j·z_k (i ≤ j ≤ k), i.e. C(d + 3, 3) features (165 for d = 8).
public struct PolynomialFeatures: Sendable {
    public let dimension: Int
    public let degree: Int
    /// Each monomial as the sorted list of variable indices it multiplies ([] is the constant).
    public let monomials: [[Int]]

    public init(dimension: Int, degree: Int = 3) {
        precondition(dimension >= 1 && degree >= 0, "PolynomialFeatures: dimension \(dimension), degree \(degree)")
        self.dimension = dimension; self.degree = degree
        var all: [[Int]] = [[]]
        var current: [[Int]] = [[]]
        for _ in 0..<degree {   // extend each monomial by an index ≥ its last, so each appears once
            current = current.flatMap { m in ((m.last ?? 0)..<dimension).map { m + [$0] } }
            all += current
        }
        monomials = all
    }

    public var count: Int { monomials.count }

    /// The features of one vector.
    public func callAsFunction(_ z: [Double]) -> [Double] {
        precondition(z.count == dimension, "PolynomialFeatures: vector of \(z.count), expected \(dimension)")
        return monomials.map { m in m.reduce(1.0) { $0 * z[$1] } }
    }
}
