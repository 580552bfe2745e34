import Foundation

/// Elastic double pendulum (docs/method.md §Data): a spring (rest length L₀, stiffness k) carrying
/// a rigid rod (length L, width w, mass m). State (θ₁, θ₂, z, θ₁', θ₂', z'), z the spring's
/// extension. Each derivative solves the reference's 3×3 system A·(θ₁'', θ₂'', z'') = b.
public struct ElasticDoublePendulum: PhysicalSimulator {
    public var restLength = 0.205      // L₀ (m)
    public var rodLength = 0.179       // L (m)
    public var rodWidth = 0.038        // w (m)
    public var rodMass = 0.110         // m (kg)
    public var gravity = 9.81
    public var springConstant = 40.0   // k (kg/s²)
    public var frameInterval = 1.0 / 60.0
    public var initialTheta1: ClosedRange<Double> = 0...(2 * Double.pi)
    public var initialTheta2: ClosedRange<Double> = 0...(2 * Double.pi)
    public var initialExtension: ClosedRange<Double> = -0.04...0.04
    public var initialTheta1Rate: ClosedRange<Double> = -6...6
    public var initialTheta2Rate: ClosedRange<Double> = -10...10
    /// Rejection: the tip may exceed the rest reach (L₀ + L) by at most this much in |x| or |y|…
    public var reachMargin = 0.16
    /// …and the spring may never be compressed below this extension.
    public var minimumExtension = -0.08
    /// The spring's ω = √(k/m) ≈ 19 rad/s and θ₂' exceeds 30 rad/s in fast tumbles: 512 RK4
    /// steps per 1/60 s keep halving the step below a 1e-9 change (128 gave up to 2e-7).
    public var substepsPerFrame = 512
    public var defaultTrajectories = 1200
    public var defaultFrames = 60
    public var defaultSize = 128
    public var defaultChannels = 3
    public var drawing = ElasticPendulumDrawing()

    public init() {}

    public var systemName: String { "elastic_pendulum" }
    public var stateNames: [String] { ["theta1", "theta2", "z", "theta1_dot", "theta2_dot", "z_dot"] }

    @inline(__always)
    public func derivative(_ y: SimulationState) -> SimulationState {
        let la = restLength + y[2], lb = 0.5 * rodLength
        let inertia = rodMass * (rodWidth * rodWidth + rodLength * rodLength) / 12
        let jc = rodLength * cos(y[0] - y[1]), js = rodLength * sin(y[0] - y[1])
        let t1 = y[3], t2 = y[4], zd = y[5]
        // A (symmetric) and b exactly as the reference.
        let a11 = la * la, a12 = 0.5 * la * jc, a22 = lb * lb + inertia / rodMass, a23 = 0.5 * js
        let b1 = -0.5 * la * js * t2 * t2 - 2 * la * t1 * zd - gravity * la * sin(y[0])
        let b2 = 0.5 * la * js * t1 * t1 - jc * t1 * zd - gravity * lb * sin(y[1])
        let b3 = la * t1 * t1 + 0.5 * jc * t2 * t2 + gravity * cos(y[0]) - (springConstant / rodMass) * y[2]
        // Solve [[a11, a12, 0], [a12, a22, a23], [0, a23, 1]] x = b by eliminating z'' (row 3)
        // and then θ₁'' (row 1): the matrix is a mass matrix, symmetric positive definite for
        // L₀ + z > 0, so this pivot-free elimination is stable.
        let a22r = a22 - a23 * a23           // after substituting z'' = b3 − a23·θ₂''
        let b2r = b2 - a23 * b3
        let theta2dd = (b2r - a12 / a11 * b1) / (a22r - a12 * a12 / a11)
        let theta1dd = (b1 - a12 * theta2dd) / a11
        let zdd = b3 - a23 * theta2dd
        var d = SimulationState(repeating: 0)
        d[0] = t1; d[1] = t2; d[2] = zd
        d[3] = theta1dd; d[4] = theta2dd; d[5] = zdd
        return d
    }

    public func sampleInitialState(trajectory: Int, frames: Int, rng: inout RNG) -> SimulationState {
        var y = SimulationState(repeating: 0)
        y[0] = rng.uniform(initialTheta1.lowerBound, initialTheta1.upperBound)
        y[1] = rng.uniform(initialTheta2.lowerBound, initialTheta2.upperBound)
        y[2] = rng.uniform(initialExtension.lowerBound, initialExtension.upperBound)
        y[3] = rng.uniform(initialTheta1Rate.lowerBound, initialTheta1Rate.upperBound)
        y[4] = rng.uniform(initialTheta2Rate.lowerBound, initialTheta2Rate.upperBound)
        y[5] = 0
        return y
    }

    /// The reference's rule, on every frame state: reject when the tip's |x| or |y| exceeds
    /// (L₀ + L) + margin, or the extension drops below the minimum.
    public func accepts(_ frameStates: [SimulationState]) -> Bool {
        frameStates.allSatisfy { violation($0) <= 0 }
    }

    /// Largest amount by which a state breaks the rejection rule (≤ 0 when it satisfies it).
    public func violation(_ y: SimulationState) -> Double {
        let reach = restLength + rodLength
        let x = abs((restLength + y[2]) * sin(y[0]) + rodLength * sin(y[1])) - reach - reachMargin
        let v = abs((restLength + y[2]) * cos(y[0]) + rodLength * cos(y[1])) - reach - reachMargin
        return max(x, v, minimumExtension - y[2])
    }

    /// Total mechanical energy (J), constant along exact solutions: the check for the equations.
    public func energy(_ y: SimulationState) -> Double {
        // The reference's equations are those of a massless spring whose end carries the rod's
        // end (the rod pivots at the spring's tip), with gravity on the rod's centre of mass.
        let la = restLength + y[2], lb = 0.5 * rodLength
        let inertia = rodMass * (rodWidth * rodWidth + rodLength * rodLength) / 12
        let t1 = y[3], t2 = y[4], zd = y[5]
        // Velocity of the rod's centre: spring tip velocity plus rotation about it.
        let vx = zd * sin(y[0]) + la * t1 * cos(y[0]) + lb * t2 * cos(y[1])
        let vy = zd * cos(y[0]) - la * t1 * sin(y[0]) - lb * t2 * sin(y[1])
        let kinetic = 0.5 * rodMass * (vx * vx + vy * vy) + 0.5 * inertia * t2 * t2
        let height = -(la * cos(y[0]) + lb * cos(y[1]))
        let potential = rodMass * gravity * height + 0.5 * springConstant * y[2] * y[2]
        return kinetic + potential
    }

    public func scene(for y: SimulationState) -> Scene { drawing.scene(theta1: y[0], theta2: y[1], extension: y[2]) }
}

/// The reference's drawing on a 1600×1600 canvas, pivot at (800, 800): rod 1 (the spring) is a
/// 90-px-wide rectangle of length 300·(1 + z/L₀), colour (63, 66, 85), along (sin θ₁, cos θ₁)
/// with y down; rod 2 is 90 × 250, colour (17, 93, 234), starting 35 px before rod 1's end and
/// drawn first so rod 1 occludes it. Pillow's polygon vertices address pixel centres, so the
/// continuous pivot is (800.5, 800.5).
public struct ElasticPendulumDrawing: Sendable, Equatable {
    public var canvas = 1600.0
    public var pivot = SIMD2(800.5, 800.5)
    public var rod1Width = 90.0, rod1Length = 300.0
    public var rod2Width = 90.0, rod2Length = 250.0
    public var jointOverlap = 35.0
    public var restLength = 0.205
    public var rod1Colour = RGBColour(63, 66, 85)
    public var rod2Colour = RGBColour(17, 93, 234)
    public var background = RGBColour.datasetBackground

    public init() {}

    public func scene(theta1: Double, theta2: Double, extension z: Double) -> Scene {
        let u1 = SIMD2(sin(theta1), cos(theta1)), u2 = SIMD2(sin(theta2), cos(theta2))
        let h1 = rod1Length * (1 + z / restLength)
        let joint = pivot + (h1 - jointOverlap) * u1
        let rod2 = OrientedBox(rodFrom: joint / canvas, direction: u2, length: rod2Length / canvas,
                               width: rod2Width / canvas)
        let rod1 = OrientedBox(rodFrom: pivot / canvas, direction: u1, length: max(h1, 0) / canvas,
                               width: rod1Width / canvas)
        return Scene(background: background, shapes: [PaintedShape(.box(rod2), rod2Colour),
                                                      PaintedShape(.box(rod1), rod1Colour)])
    }
}
