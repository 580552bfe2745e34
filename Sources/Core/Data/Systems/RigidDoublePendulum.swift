import Foundation

/// Rigid double pendulum: two uniform rods joined end to end (the "compound" double pendulum),
/// pivoted at the top. The reference has no simulator for it — its data is video of a real
/// pendulum (docs/method.md §Data) — so this is the standard model with the rod lengths and masses
/// of Chen et al.'s physics estimator (0.205/0.179 m, 0.262/0.110 kg), frictionless by default.
/// State (θ₁, θ₂, θ₁', θ₂'), angles from straight down, positive counter-clockwise on screen.
///
/// With Δ = θ₁ − θ₂ the Lagrangian gives M(θ)·(θ₁'', θ₂'') = f:
///   M = [[(m₁/3 + m₂)·l₁², ½·m₂·l₁·l₂·cos Δ], [½·m₂·l₁·l₂·cos Δ, m₂·l₂²/3]]
///   f₁ = −½·m₂·l₁·l₂·sin Δ·θ₂'² − (m₁/2 + m₂)·g·l₁·sin θ₁ − c·θ₁'
///   f₂ = +½·m₂·l₁·l₂·sin Δ·θ₁'² − ½·m₂·g·l₂·sin θ₂ − c·(θ₂' − θ₁')
/// (c: optional viscous joint friction, default 0, so energy is conserved.)
public struct RigidDoublePendulum: PhysicalSimulator {
    public var length1 = 0.205, length2 = 0.179
    public var mass1 = 0.262, mass2 = 0.110
    public var gravity = 9.81
    public var jointFriction = 0.0
    /// The real videos were resampled to 60 fps and cut into 60-frame pieces.
    public var frameInterval = 1.0 / 60.0
    /// Initial conditions (our choice, see the type comment): any configuration, moderate rates,
    /// which covers both swinging and chaotic tumbling as in the real recordings.
    public var initialTheta1: ClosedRange<Double> = -Double.pi...Double.pi
    public var initialTheta2: ClosedRange<Double> = -Double.pi...Double.pi
    public var initialTheta1Rate: ClosedRange<Double> = -3...3
    public var initialTheta2Rate: ClosedRange<Double> = -3...3
    public var substepsPerFrame = 256
    public var defaultTrajectories = 1099
    public var defaultFrames = 60
    public var defaultSize = 128
    public var defaultChannels = 3
    public var drawing = RigidDoublePendulumDrawing()

    public init() {}

    public var systemName: String { "double_pendulum" }
    public var stateNames: [String] { ["theta1", "theta2", "theta1_dot", "theta2_dot"] }

    @inline(__always)
    public func derivative(_ y: SimulationState) -> SimulationState {
        let delta = y[0] - y[1], c = cos(delta), s = sin(delta)
        let t1 = y[2], t2 = y[3]
        let m11 = (mass1 / 3 + mass2) * length1 * length1
        let m12 = 0.5 * mass2 * length1 * length2 * c
        let m22 = mass2 * length2 * length2 / 3
        let f1 = -0.5 * mass2 * length1 * length2 * s * t2 * t2 - (mass1 / 2 + mass2) * gravity * length1 * sin(y[0])
            - jointFriction * t1 + jointFriction * (t2 - t1)
        let f2 = 0.5 * mass2 * length1 * length2 * s * t1 * t1 - 0.5 * mass2 * gravity * length2 * sin(y[1])
            - jointFriction * (t2 - t1)
        let det = m11 * m22 - m12 * m12          // > 0: the mass matrix is positive definite
        var d = SimulationState(repeating: 0)
        d[0] = t1; d[1] = t2
        d[2] = (m22 * f1 - m12 * f2) / det
        d[3] = (m11 * f2 - m12 * f1) / det
        return d
    }

    public func sampleInitialState(trajectory: Int, frames: Int, rng: inout RNG) -> SimulationState {
        var y = SimulationState(repeating: 0)
        y[0] = rng.uniform(initialTheta1.lowerBound, initialTheta1.upperBound)
        y[1] = rng.uniform(initialTheta2.lowerBound, initialTheta2.upperBound)
        y[2] = rng.uniform(initialTheta1Rate.lowerBound, initialTheta1Rate.upperBound)
        y[3] = rng.uniform(initialTheta2Rate.lowerBound, initialTheta2Rate.upperBound)
        return y
    }

    /// Kinetic plus potential energy (J), height measured upwards from the pivot.
    public func energy(_ y: SimulationState) -> Double {
        let delta = y[0] - y[1], t1 = y[2], t2 = y[3]
        let kinetic = 0.5 * (mass1 / 3 + mass2) * length1 * length1 * t1 * t1
            + 0.5 * (mass2 / 3) * length2 * length2 * t2 * t2
            + 0.5 * mass2 * length1 * length2 * t1 * t2 * cos(delta)
        let potential = -(mass1 / 2 + mass2) * gravity * length1 * cos(y[0]) - 0.5 * mass2 * gravity * length2 * cos(y[1])
        return kinetic + potential
    }

    public func scene(for y: SimulationState) -> Scene {
        drawing.scene(theta1: y[0], theta2: y[1], length1: length1, length2: length2)
    }
}

/// Drawn with the elastic pendulum's canvas, scale, rod width and colours (the real video's look is
/// not reproducible): 300 px per 0.205 m on a 1600-px canvas, so the rods are 300 and 262 px
/// between their pins. Each rod is a bar with fully rounded ends centred on its two pins, so the
/// joint sits exactly at rod 1's end and rod 2's axis ends at the physical tip. Rod 2 is drawn
/// first, so rod 1 covers the joint as in the elastic pendulum.
public struct RigidDoublePendulumDrawing: Sendable, Equatable {
    public var canvas = 1600.0
    public var pivot = SIMD2(800.5, 800.5)
    public var pixelsPerMetre = 300.0 / 0.205
    public var rodWidth = 90.0
    public var rod1Colour = RGBColour(63, 66, 85)
    public var rod2Colour = RGBColour(17, 93, 234)
    public var background = RGBColour.datasetBackground

    public init() {}

    public func scene(theta1: Double, theta2: Double, length1: Double, length2: Double) -> Scene {
        let u1 = SIMD2(sin(theta1), cos(theta1)), u2 = SIMD2(sin(theta2), cos(theta2))
        let h1 = length1 * pixelsPerMetre, h2 = length2 * pixelsPerMetre
        let joint = pivot + h1 * u1
        let r = rodWidth / 2
        // A bar between two pins, extended by the half width past each so its ends are half discs.
        func bar(from a: SIMD2<Double>, along u: SIMD2<Double>, length: Double) -> OrientedBox {
            OrientedBox(rodFrom: (a - r * u) / canvas, direction: u, length: (length + 2 * r) / canvas,
                        width: rodWidth / canvas, cornerRadius: r / canvas)
        }
        return Scene(background: background, shapes: [
            PaintedShape(.box(bar(from: joint, along: u2, length: h2)), rod2Colour),
            PaintedShape(.box(bar(from: pivot, along: u1, length: h1)), rod1Colour),
        ])
    }
}
