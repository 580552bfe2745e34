/// Analytic shapes in continuous canvas coordinates: the canvas is the unit square, x to the
/// right and y **down** (image convention, as the reference's Pillow drawing code), and a pixel
/// (row i, column j) of a W×H raster covers [j/W, (j+1)/W) × [i/H, (i+1)/H).
public enum SceneShape: Sendable, Equatable {
    case box(OrientedBox)
    case disc(Disc)

    /// Signed distance (negative inside) in canvas units. Exact for discs and rounded boxes, so the
    /// rasterizer can tell fully covered pixels from edge pixels without sampling them.
    @inline(__always)
    public func signedDistance(_ p: SIMD2<Double>) -> Double {
        switch self {
        case .box(let b): return b.signedDistance(p)
        case .disc(let d): return d.signedDistance(p)
        }
    }

    /// Axis-aligned bounds (minimum, maximum) in canvas units.
    public var bounds: (SIMD2<Double>, SIMD2<Double>) {
        switch self {
        case .box(let b): return b.bounds
        case .disc(let d): return (d.centre - d.radius, d.centre + d.radius)
        }
    }
}

/// A rectangle of any orientation, optionally with rounded corners: the rods of every pendulum.
public struct OrientedBox: Sendable, Equatable {
    public var centre: SIMD2<Double>
    /// Unit vector along the box's length.
    public var axis: SIMD2<Double>
    public var halfLength: Double
    public var halfWidth: Double
    public var cornerRadius: Double

    public init(centre: SIMD2<Double>, axis: SIMD2<Double>, halfLength: Double, halfWidth: Double,
                cornerRadius: Double = 0) {
        precondition(halfLength >= 0 && halfWidth >= 0, "box extents must be non-negative")
        self.centre = centre; self.axis = axis; self.halfLength = halfLength; self.halfWidth = halfWidth
        self.cornerRadius = min(max(cornerRadius, 0), min(halfLength, halfWidth))
    }

    /// A rod starting at `start` and running `length` along the unit `direction`, `width` wide
    /// (centred on its axis) — the reference's `draw_rect(top, w, h, θ)`.
    public init(rodFrom start: SIMD2<Double>, direction: SIMD2<Double>, length: Double, width: Double,
                cornerRadius: Double = 0) {
        self.init(centre: start + direction * (length / 2), axis: direction, halfLength: length / 2,
                  halfWidth: width / 2, cornerRadius: cornerRadius)
    }

    @inline(__always)
    public func signedDistance(_ p: SIMD2<Double>) -> Double {
        let d = p - centre
        let along = abs(d.x * axis.x + d.y * axis.y)
        let across = abs(d.x * axis.y - d.y * axis.x)
        let r = cornerRadius
        let qx = along - halfLength + r, qy = across - halfWidth + r
        let outside = SIMD2(max(qx, 0), max(qy, 0))
        return (outside * outside).sum().squareRoot() + min(max(qx, qy), 0) - r
    }

    public var bounds: (SIMD2<Double>, SIMD2<Double>) {
        let ex = abs(axis.x) * halfLength + abs(axis.y) * halfWidth
        let ey = abs(axis.y) * halfLength + abs(axis.x) * halfWidth
        let e = SIMD2(ex, ey)
        return (centre - e, centre + e)
    }
}

public struct Disc: Sendable, Equatable {
    public var centre: SIMD2<Double>
    public var radius: Double

    public init(centre: SIMD2<Double>, radius: Double) { self.centre = centre; self.radius = radius }

    @inline(__always)
    public func signedDistance(_ p: SIMD2<Double>) -> Double {
        let d = p - centre
        return (d * d).sum().squareRoot() - radius
    }
}

/// A shape with its fill colour.
public struct PaintedShape: Sendable, Equatable {
    public var shape: SceneShape
    public var colour: RGBColour
    public init(_ shape: SceneShape, _ colour: RGBColour) { self.shape = shape; self.colour = colour }
}

/// What one frame shows: a background and shapes painted in order (later ones on top).
public struct Scene: Sendable, Equatable {
    public var background: RGBColour
    public var shapes: [PaintedShape]
    public init(background: RGBColour = .datasetBackground, shapes: [PaintedShape]) {
        self.background = background; self.shapes = shapes
    }
}
