import Foundation

/// Circular motion (docs/method.md §Data): a soft grey ball rotating about the image centre.
/// Pixel (row i, column j) of an S×S image has scene coordinates A = j/S − ½ (right) and
/// B = (S − 1 − i)/S − ½ (up), and intensity sigmoid(sharpness·(r² − (A − x)² − (B − y)²)) on a
/// black background, stored as round(255·value). The state is the ball centre (x, y); it moves
/// counter-clockwise at `angularVelocity` rad/s, so with dt = 0.1 s the reference's 0.1 rad per frame.
/// The motion is solved exactly (a rotation), not integrated.
public struct CircularMotion: PhysicalSimulator {
    public var ballRadius = 0.1
    public var sharpness = 500.0
    public var start = SIMD2(0.0, 0.35)
    /// Rad per second; with dt = 0.1 the reference's 0.1 rad per frame (period 62.8 frames).
    public var angularVelocity = 1.0
    /// 0.1 equals the reference ODE step h, i.e. one frame is 0.1 time units.
    public var frameInterval = 0.1
    /// Frames of the time split: the first `trainFrames` train, the rest test (and validation).
    public var trainFrames = 70
    public var substepsPerFrame = 1
    public var defaultTrajectories = 1
    public var defaultFrames = 220
    public var defaultSize = 48
    public var defaultChannels = 1

    public init() {}

    public var systemName: String { "circle" }
    public var stateNames: [String] { ["x", "y"] }

    public func derivative(_ y: SimulationState) -> SimulationState {
        var d = SimulationState(repeating: 0)
        d[0] = -angularVelocity * y[1]
        d[1] = angularVelocity * y[0]
        return d
    }

    /// Trajectory 0 starts at `start`; further trajectories continue the same orbit, each starting
    /// where the previous one's last frame would be followed (one long motion cut in pieces).
    public func sampleInitialState(trajectory: Int, frames: Int, rng: inout RNG) -> SimulationState {
        var y = SimulationState(repeating: 0)
        y[0] = start.x; y[1] = start.y
        return rotate(y, by: angularVelocity * frameInterval * Double(trajectory * frames))
    }

    /// Exact solution: rotation of the initial position by ω·t.
    public func state(at t: Double, from initial: SimulationState) -> SimulationState {
        precondition(t >= 0 && t.isFinite, "state(at:) needs a finite t ≥ 0, got \(t)")
        // Frame times use k·(ω·dt) so frame k is bitwise the same however it is asked for.
        let position = t / frameInterval, nearest = position.rounded()
        let angle = abs(position - nearest) < 1e-9 ? nearest * (angularVelocity * frameInterval) : angularVelocity * t
        return rotate(initial, by: angle)
    }

    func rotate(_ y: SimulationState, by angle: Double) -> SimulationState {
        var r = y
        r[0] = cos(angle) * y[0] - sin(angle) * y[1]
        r[1] = sin(angle) * y[0] + cos(angle) * y[1]
        return r
    }

    /// Frame states from the exact solution (not the RK4 default).
    public func frameStates(from initial: SimulationState, frames: Int) -> [SimulationState] {
        (0..<frames).map { state(at: Double($0) * frameInterval, from: initial) }
    }

    /// The ball as a scene (used only by generic tools; `render` uses the exact formula).
    public func scene(for y: SimulationState) -> Scene {
        Scene(background: .black, shapes: [PaintedShape(.disc(Disc(centre: SIMD2(y[0] + 0.5, 0.5 - y[1]), radius: ballRadius)),
                                                        RGBColour(255, 255, 255))])
    }

    /// Intensity at pixel centres by the reference formula (already smooth at the sub-pixel scale,
    /// so no supersampling); RGB repeats the grey value.
    public func intensity(row: Int, column: Int, width: Int, height: Int, ball: SimulationState) -> Double {
        let a = Double(column) / Double(width) - 0.5
        let b = Double(height - 1 - row) / Double(height) - 0.5
        let d2 = (a - ball[0]) * (a - ball[0]) + (b - ball[1]) * (b - ball[1])
        return 1 / (1 + exp(-sharpness * (ballRadius * ballRadius - d2)))
    }

    public func render(_ state: SimulationState, width: Int, height: Int, channels: Int, samplesPerAxis: Int,
                       into buffer: UnsafeMutableBufferPointer<UInt8>) {
        precondition(buffer.count == width * height * channels, "render buffer size mismatch")
        for row in 0..<height {
            for column in 0..<width {
                let v = intensity(row: row, column: column, width: width, height: height, ball: state)
                let byte = UInt8(min(max((255 * v).rounded(), 0), 255))
                for c in 0..<channels { buffer[(row * width + column) * channels + c] = byte }
            }
        }
    }

    /// Time split (docs/method.md §Data): train on frames [0, 70), test on [70, end); validation = test (the
    /// reference has none). Every trajectory is in every split.
    public func defaultSplits(trajectories: Int, frames: Int, seed: UInt64) -> DatasetSplits {
        let all = Array(0..<trajectories)
        let cut = min(trainFrames, max(frames - 1, 1))
        return DatasetSplits(train: all, validation: all, test: all,
                             trainFrames: [0, cut], validationFrames: [cut, frames], testFrames: [cut, frames])
    }
}
