import Dispatch

public enum SimulationError: Error, CustomStringConvertible {
    case invalidOption(String)
    case rejectionLimit(system: String, trajectory: Int, attempts: Int)

    public var description: String {
        switch self {
        case .invalidOption(let message): return message
        case .rejectionLimit(let system, let trajectory, let attempts):
            return "\(system): trajectory \(trajectory) was rejected \(attempts) times in a row; the initial-condition " +
                "ranges or the frame count make the rejection rule (nearly) impossible to satisfy — widen the margin or use fewer frames"
        }
    }
}

/// Generates a dataset trajectory by trajectory. Trajectory i uses its own random stream
/// `RNG.derived(seed, i)` (resampling from it until the rejection rule accepts), so it is the same
/// whichever other trajectories are generated, in whatever order or parallelism.
public struct DatasetGenerator: Sendable {
    public let simulator: any PhysicalSimulator
    public let trajectories: Int
    public let frames: Int
    public let size: Int
    public let channels: Int
    public let seed: UInt64
    public let samplesPerAxis: Int
    /// Resampling attempts per trajectory before giving up with `SimulationError.rejectionLimit`.
    public var maximumAttempts = 10_000

    public init(simulator: any PhysicalSimulator, trajectories: Int, frames: Int, size: Int, channels: Int,
                seed: UInt64, samplesPerAxis: Int = SceneRasterizer.defaultSamplesPerAxis) throws {
        guard trajectories > 0 else { throw SimulationError.invalidOption("trajectories must be positive, got \(trajectories)") }
        guard frames >= 2 else { throw SimulationError.invalidOption("frames must be at least 2, got \(frames)") }
        guard (4...4096).contains(size) else { throw SimulationError.invalidOption("size must be in 4...4096, got \(size)") }
        guard channels == 1 || channels == 3 else { throw SimulationError.invalidOption("channels must be 1 or 3, got \(channels)") }
        guard (1...32).contains(samplesPerAxis) else {
            throw SimulationError.invalidOption("samples per axis must be in 1...32, got \(samplesPerAxis)")
        }
        self.simulator = simulator; self.trajectories = trajectories; self.frames = frames
        self.size = size; self.channels = channels; self.seed = seed; self.samplesPerAxis = samplesPerAxis
    }

    public var description: DatasetDescription { simulator.description(frames: frames, size: size, channels: channels) }

    public var splits: DatasetSplits { simulator.defaultSplits(trajectories: trajectories, frames: frames, seed: seed) }

    /// The accepted initial state and frame states of trajectory `id`.
    public func simulate(_ id: Int) throws -> [SimulationState] {
        var rng = RNG.derived(seed, UInt64(id))
        for _ in 0..<maximumAttempts {
            let initial = simulator.sampleInitialState(trajectory: id, frames: frames, rng: &rng)
            let states = simulator.frameStates(from: initial, frames: frames)
            if simulator.accepts(states) { return states }
        }
        throw SimulationError.rejectionLimit(system: simulator.systemName, trajectory: id, attempts: maximumAttempts)
    }

    /// Trajectory `id`: its frames rendered and its ground-truth states.
    public func trajectory(_ id: Int) throws -> FrameSequence {
        precondition(id >= 0 && id < trajectories, "trajectory id \(id) outside 0..<\(trajectories)")
        let states = try simulate(id)
        let frameBytes = size * size * channels
        var pixels = [UInt8](repeating: 0, count: frames * frameBytes)
        pixels.withUnsafeMutableBufferPointer { all in
            for (k, y) in states.enumerated() {
                let slice = UnsafeMutableBufferPointer(rebasing: all[(k * frameBytes)..<((k + 1) * frameBytes)])
                simulator.render(y, width: size, height: size, channels: channels, samplesPerAxis: samplesPerAxis, into: slice)
            }
        }
        let d = simulator.stateDimension
        var flat: [Double] = []
        flat.reserveCapacity(frames * d)
        for y in states { for i in 0..<d { flat.append(y[i]) } }
        return FrameSequence(id: id, frameCount: frames, height: size, width: size, channels: channels,
                             frames: pixels, stateDimension: d, states: flat)
    }

    /// All trajectories as a lazy sequence, generated one by one on demand (serially). Elements
    /// are `Result`s because a pathological configuration can exhaust the rejection budget.
    public var lazyTrajectories: LazyMapSequence<Range<Int>, Result<FrameSequence, Error>> {
        (0..<trajectories).lazy.map { id in Result { try self.trajectory(id) } }
    }

    /// Streams the trajectories `ids` (default: all) in id order to `consume`, generating `batch` of
    /// them at a time in parallel (so memory stays at one batch however large the dataset), and
    /// reports `progress(done, ids.count)` after each batch. A rank of a job that generates one
    /// dataset together passes the ids of one of its shards (`DatasetPart`).
    public func generate(ids: Range<Int>? = nil, threads: Int = 0, progress: ((Int, Int) -> Void)? = nil,
                         _ consume: (FrameSequence) throws -> Void) throws {
        let ids = ids ?? 0..<trajectories
        precondition(ids.lowerBound >= 0 && ids.upperBound <= trajectories, "ids \(ids) outside 0..<\(trajectories)")
        let workers = threads > 0 ? threads : GeneratorCores.active
        let batch = max(1, workers * 4)
        var next = ids.lowerBound
        while next < ids.upperBound {
            let batchIDs = Array(next..<min(next + batch, ids.upperBound))
            let results = try generateBatch(batchIDs, workers: workers)
            for sequence in results { try consume(sequence) }
            next += batchIDs.count
            progress?(next - ids.lowerBound, ids.count)
        }
    }

    private func generateBatch(_ ids: [Int], workers: Int) throws -> [FrameSequence] {
        if workers <= 1 || ids.count == 1 { return try ids.map { try trajectory($0) } }
        let box = ResultBox(count: ids.count)
        // `workers` strided lanes, so --threads really bounds the parallelism.
        let lanes = min(workers, ids.count)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for i in stride(from: lane, to: ids.count, by: lanes) {
                box.set(i, Result { try trajectory(ids[i]) })
            }
        }
        return try box.results.map { try $0!.get() }
    }
}

/// Slots written by concurrent workers, each index exactly once.
private final class ResultBox: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private(set) var results: [Result<FrameSequence, Error>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<FrameSequence, Error>) { lock.wait(); results[i] = r; lock.signal() }
}

enum GeneratorCores {
    /// Cores available to this process.
    static var active: Int {
        #if canImport(Glibc)
        return max(1, Int(sysconfNProcessorsOnline()))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
private func sysconfNProcessorsOnline() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#endif
