/// True frames between the stored ones, to score interpolation: the frame at t + f·dt (0 ≤ f ≤ 1)
/// of a simulated trajectory, made by integrating the system's own equations from the stored state
/// of frame t for f·dt (`PhysicalSimulator.state(at:from:)`, the same RK4 substeps as the
/// generator) and rendering it with the generator's renderer and supersampling.
///
/// At f = 0 this is the stored frame bit for bit (the stored states are the generator's f64
/// states and the render is deterministic). At f = 1 an RK4 system takes one whole frame step, the
/// generator's own step sequence, so it gives the next stored frame exactly; the circle's exact
/// rotation gives it up to rounding (~1e-16 in the state). For 0 < f < 1 the substeps are the
/// generator's up to one shorter final substep, so the state error is RK4's: below 1e-9 at the
/// default substeps (`SimulatorTests` halves the step), which moves an edge by ≪ 1/255 of a pixel.
public struct FractionalGroundTruth: Sendable {
    /// Why a dataset has no fractional ground truth; `evaluate` writes null for interpolation.
    public enum Unavailable: Error, Equatable, Sendable, CustomStringConvertible {
        /// Ingested video (or any dataset without states).
        case noStates(system: String)
        /// A system name with no simulator here.
        case unknownSystem(String)
        /// The stored description does not match the simulator's defaults, so the dataset was not
        /// made by this simulator as configured (e.g. the loader test's synthetic pendulum).
        case mismatch(String)

        public var description: String {
            switch self {
            case .noStates(let s): return "\(s): the dataset has no ground-truth states (real video), so frames between the stored ones cannot be made"
            case .unknownSystem(let s): return "\(s): no simulator of that name (\(PhysicalSystem.allNames))"
            case .mismatch(let m): return m
            }
        }
    }

    public let simulator: any PhysicalSimulator
    public let description: DatasetDescription
    public let samplesPerAxis: Int

    /// The ground truth for a dataset, or why there is none.
    public static func make(for description: DatasetDescription,
                            samplesPerAxis: Int = SceneRasterizer.defaultSamplesPerAxis) -> Result<FractionalGroundTruth, Unavailable> {
        guard !description.stateNames.isEmpty else { return .failure(.noStates(system: description.system)) }
        guard let system = PhysicalSystem(rawValue: description.system) else { return .failure(.unknownSystem(description.system)) }
        let simulator = system.simulator
        guard simulator.stateNames == description.stateNames else {
            return .failure(.mismatch("\(description.system): states \(description.stateNames) are not the simulator's \(simulator.stateNames)"))
        }
        guard simulator.frameInterval == description.dt else {
            return .failure(.mismatch("\(description.system): dt \(description.dt) s is not the simulator's \(simulator.frameInterval) s"))
        }
        guard description.height == description.width else {
            return .failure(.mismatch("\(description.system): frames are \(description.height)×\(description.width); the renderer draws square frames"))
        }
        return .success(FractionalGroundTruth(simulator: simulator, description: description, samplesPerAxis: samplesPerAxis))
    }

    /// The frame (uint8, H×W×C like the shards) at t + f·dt of `sequence`.
    public func frame(of sequence: FrameSequence, at t: Int, fraction f: Double) -> [UInt8] {
        precondition(sequence.stateDimension == description.stateNames.count, "trajectory \(sequence.id) has \(sequence.stateDimension) states, the dataset \(description.stateNames.count)")
        precondition(t >= 0 && t < sequence.frameCount, "frame \(t) outside 0..<\(sequence.frameCount)")
        precondition(f >= 0 && f <= 1, "fraction \(f) outside [0, 1]")
        let d = sequence.stateDimension
        let stored = SimulationState(packing: Array(sequence.states[(t * d)..<((t + 1) * d)]), dimension: d)
        return simulator.render(at: f * description.dt, from: stored, size: description.height,
                                channels: description.channels, samplesPerAxis: samplesPerAxis)
    }

    /// The frames at t + f·dt for every f of `fractions`, as Float in [0, 1].
    public func unitFrames(of sequence: FrameSequence, at t: Int, fractions: [Double]) -> [[Float]] {
        fractions.map { FrameError.unitFrame(frame(of: sequence, at: t, fraction: $0)) }
    }
}
