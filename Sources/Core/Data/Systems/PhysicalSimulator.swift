/// A simulated physical system: its ODE, how initial conditions are drawn (with any rejection
/// rule), and what a state looks like. Conformers are plain value types whose stored properties are
/// the physical parameters, with the reference's values as defaults (docs/method.md §Data), so any of
/// them can be overridden.
public protocol PhysicalSimulator: Sendable {
    /// Dataset name ("pendulum", …), written to the dataset description.
    var systemName: String { get }
    /// Names of the state components, in `SimulationState` order.
    var stateNames: [String] { get }
    /// Seconds between frames.
    var frameInterval: Double { get }
    /// RK4 steps per frame interval.
    var substepsPerFrame: Int { get }
    var defaultTrajectories: Int { get }
    var defaultFrames: Int { get }
    var defaultSize: Int { get }
    var defaultChannels: Int { get }

    /// The vector field dy/dt = f(y) (all systems here are autonomous).
    func derivative(_ y: SimulationState) -> SimulationState

    /// Draws an initial state for trajectory `trajectory` of a dataset of `frames` frames.
    func sampleInitialState(trajectory: Int, frames: Int, rng: inout RNG) -> SimulationState

    /// The rejection rule over a trajectory's frame states (true = keep).
    func accepts(_ frameStates: [SimulationState]) -> Bool

    /// The state `t` seconds after `initial` (t ≥ 0).
    func state(at t: Double, from initial: SimulationState) -> SimulationState

    /// States at frames 0..<frames (frame 0 is `initial`); equal to `state(at: k·dt)` bit for bit.
    func frameStates(from initial: SimulationState, frames: Int) -> [SimulationState]

    /// The drawing of a state.
    func scene(for state: SimulationState) -> Scene

    /// Renders a state (size × size × channels, uint8) into `buffer`.
    func render(_ state: SimulationState, width: Int, height: Int, channels: Int, samplesPerAxis: Int,
                into buffer: UnsafeMutableBufferPointer<UInt8>)

    /// Dataset splits for `trajectories` trajectories of `frames` frames.
    func defaultSplits(trajectories: Int, frames: Int, seed: UInt64) -> DatasetSplits
}

public extension PhysicalSimulator {
    var stateDimension: Int { stateNames.count }
    var substepLength: Double { frameInterval / Double(substepsPerFrame) }

    func accepts(_ frameStates: [SimulationState]) -> Bool { true }

    /// Advances one frame interval (the exact step sequence every frame state uses).
    @inline(__always)
    func advanceFrame(_ y: SimulationState) -> SimulationState {
        SimulationRK4.integrate(y, steps: substepsPerFrame, h: substepLength, derivative)
    }

    /// States at frames 0..<frames (frame 0 is `initial`).
    func frameStates(from initial: SimulationState, frames: Int) -> [SimulationState] {
        var states: [SimulationState] = []
        states.reserveCapacity(frames)
        var y = initial
        for k in 0..<frames {
            if k > 0 { y = advanceFrame(y) }
            states.append(y)
        }
        return states
    }

    /// Integrates whole frames, then the remainder with the same substep length (plus one shorter
    /// final step). A time within 1e-9 frames of a frame time gives exactly that frame's state.
    func state(at t: Double, from initial: SimulationState) -> SimulationState {
        precondition(t >= 0 && t.isFinite, "state(at:) needs a finite t ≥ 0, got \(t)")
        let position = t / frameInterval
        let nearest = position.rounded()
        var wholeFrames = Int(position.rounded(.down))
        var remainder = t - Double(wholeFrames) * frameInterval
        if abs(position - nearest) < 1e-9 { wholeFrames = Int(nearest); remainder = 0 }
        var y = initial
        for _ in 0..<wholeFrames { y = advanceFrame(y) }
        if remainder > 0 {
            let h = substepLength
            let fullSteps = min(Int((remainder / h).rounded(.down)), substepsPerFrame)
            y = SimulationRK4.integrate(y, steps: fullSteps, h: h, derivative)
            let rest = remainder - Double(fullSteps) * h
            if rest > 1e-15 { y = SimulationRK4.step(y, rest, derivative) }
        }
        return y
    }

    func render(_ state: SimulationState, width: Int, height: Int, channels: Int, samplesPerAxis: Int,
                into buffer: UnsafeMutableBufferPointer<UInt8>) {
        SceneRasterizer.render(scene(for: state), width: width, height: height, channels: channels,
                          samplesPerAxis: samplesPerAxis, into: buffer)
    }

    /// One frame as a new buffer.
    func render(_ state: SimulationState, size: Int, channels: Int,
                samplesPerAxis: Int = SceneRasterizer.defaultSamplesPerAxis) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size * size * channels)
        out.withUnsafeMutableBufferPointer {
            render(state, width: size, height: size, channels: channels, samplesPerAxis: samplesPerAxis, into: $0)
        }
        return out
    }

    /// The frame at any time t after `initial` (not only frame times), to score interpolation.
    func render(at t: Double, from initial: SimulationState, size: Int, channels: Int,
                samplesPerAxis: Int = SceneRasterizer.defaultSamplesPerAxis) -> [UInt8] {
        render(state(at: t, from: initial), size: size, channels: channels, samplesPerAxis: samplesPerAxis)
    }

    /// 80/10/10 by trajectory id, shuffled by the seed (the reference's 960/120/120 of 1200).
    func defaultSplits(trajectories: Int, frames: Int, seed: UInt64) -> DatasetSplits {
        TrajectorySplitter.byTrajectory(count: trajectories, seed: seed)
    }

    func description(frames: Int, size: Int, channels: Int) -> DatasetDescription {
        DatasetDescription(system: systemName, frameCount: frames, height: size, width: size, channels: channels,
                           dt: frameInterval, stateNames: stateNames)
    }

    /// `[Double]` conveniences for callers holding `FrameSequence.states` rows.
    func state(at t: Double, from initial: [Double]) -> [Double] {
        let y = state(at: t, from: SimulationState(packing: initial, dimension: stateDimension))
        return y.unpacked(stateDimension)
    }
}

extension SimulationState {
    /// Packs up to 8 components (missing ones are zero).
    public init(packing values: [Double], dimension: Int) {
        precondition(values.count == dimension && dimension <= 8,
                     "expected \(dimension) state components, got \(values.count)")
        self.init(repeating: 0)
        for (i, v) in values.enumerated() { self[i] = v }
    }

    public func unpacked(_ dimension: Int) -> [Double] { (0..<dimension).map { self[$0] } }
}

/// Seeded train/validation/test splits.
public enum TrajectorySplitter {
    /// Shuffles ids 0..<count with a stream derived from `seed`, then takes 80% / 10% / rest.
    public static func byTrajectory(count: Int, seed: UInt64, trainFraction: Double = 0.8,
                                    validationFraction: Double = 0.1) -> DatasetSplits {
        var ids = Array(0..<count)
        var rng = RNG.derived(seed, 0x5EED_5B11)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {   // Fisher–Yates
                let j = Int(rng.next() % UInt64(i + 1))
                ids.swapAt(i, j)
            }
        }
        let trainCount = Int((Double(count) * trainFraction).rounded(.down))
        let validationCount = Int((Double(count) * validationFraction).rounded(.down))
        return DatasetSplits(train: Array(ids[0..<trainCount]).sorted(),
                             validation: Array(ids[trainCount..<(trainCount + validationCount)]).sorted(),
                             test: Array(ids[(trainCount + validationCount)...]).sorted())
    }
}
