import Foundation

/// Damped single pendulum (docs/method.md §Data): a uniform rod pivoted at its end,
/// θ'' = −(3g / 2l)·sin θ − λ·θ'. State (θ, θ'), θ = 0 hanging straight down, positive θ swinging
/// the rod counter-clockwise on screen (the reference rotates the whole canvas by +θ).
public struct DampedPendulum: PhysicalSimulator {
    public var gravity = 9.81
    public var length = 0.5
    /// λ; 0 gives the conservative pendulum of Chen et al.'s version.
    public var damping = 0.2
    /// The reference samples every 2/60 s (30 fps) for 60 frames ≈ 1.7 small-angle periods.
    public var frameInterval = 2.0 / 60.0
    public var initialAngle: ClosedRange<Double> = 0...(Double.pi / 2)
    public var initialAngularVelocity: ClosedRange<Double> = -5...5
    public var substepsPerFrame = 64
    public var defaultTrajectories = 1200
    public var defaultFrames = 60
    public var defaultSize = 128
    public var defaultChannels = 3
    public var sprite = PendulumSprite()

    public init() {}

    public var systemName: String { "pendulum" }
    public var stateNames: [String] { ["theta", "theta_dot"] }

    @inline(__always)
    public func derivative(_ y: SimulationState) -> SimulationState {
        var d = SimulationState(repeating: 0)
        d[0] = y[1]
        d[1] = -(3 * gravity / (2 * length)) * sin(y[0]) - damping * y[1]
        return d
    }

    public func sampleInitialState(trajectory: Int, frames: Int, rng: inout RNG) -> SimulationState {
        var y = SimulationState(repeating: 0)
        y[0] = rng.uniform(initialAngle.lowerBound, initialAngle.upperBound)
        y[1] = rng.uniform(initialAngularVelocity.lowerBound, initialAngularVelocity.upperBound)
        return y
    }

    /// Energy per unit moment of inertia, ½θ'² − (3g/2l)·cos θ: constant when λ = 0.
    public func energy(_ y: SimulationState) -> Double { 0.5 * y[1] * y[1] - (3 * gravity / (2 * length)) * cos(y[0]) }

    public func scene(for y: SimulationState) -> Scene { sprite.scene(angle: y[0]) }
}

/// The reference's rod sprite, described analytically. The reference pastes a 75×322 px RGBA
/// sprite (blue rod, about (72, 72, 194)) at (363, 400) on an 800×800 canvas **without** its alpha
/// mask, so the sprite's transparent 2-px margin shows as a dark outline, then rotates the canvas
/// by θ about its centre (400, 400). Here: a dark 75×322 rectangle with a flat blue rounded
/// rectangle inset by 2 px on top. The sprite's shading and its exact corner shape are not
/// recoverable from the method notes; the corner radius is our choice (`cornerRadius`).
public struct PendulumSprite: Sendable, Equatable {
    public var canvas = 800.0
    public var pivot = SIMD2(400.0, 400.0)
    /// Left, top, width, height of the pasted sprite in canvas pixels (continuous coordinates).
    public var left = 363.0, top = 400.0, width = 75.0, height = 322.0
    public var outlineWidth = 2.0
    public var cornerRadius = 12.0
    public var rodColour = RGBColour(72, 72, 194)
    public var outlineColour = RGBColour.black
    public var background = RGBColour.datasetBackground

    public init() {}

    public func scene(angle theta: Double) -> Scene {
        // Canvas rotated counter-clockwise on screen by θ (y down): the rod's down axis becomes
        // (sin θ, cos θ) and its right axis (cos θ, −sin θ).
        let down = SIMD2(sin(theta), cos(theta))
        let right = SIMD2(cos(theta), -sin(theta))
        let localCentre = SIMD2(left + width / 2, top + height / 2) - pivot
        let centre = (pivot + right * localCentre.x + down * localCentre.y) / canvas
        let outer = OrientedBox(centre: centre, axis: down, halfLength: height / 2 / canvas,
                                halfWidth: width / 2 / canvas)
        let inner = OrientedBox(centre: centre, axis: down, halfLength: (height / 2 - outlineWidth) / canvas,
                                halfWidth: (width / 2 - outlineWidth) / canvas, cornerRadius: cornerRadius / canvas)
        return Scene(background: background, shapes: [PaintedShape(.box(outer), outlineColour),
                                                      PaintedShape(.box(inner), rodColour)])
    }
}
