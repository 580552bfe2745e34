/// One trajectory of frames: uint8, frame-major T×H×W×C (the shard layout), with its ground-truth
/// states T×stateDimension when a simulator made it (empty for real video).
public struct FrameSequence: Sendable {
    public var id: Int
    public var frameCount: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    public var frames: [UInt8]
    public var stateDimension: Int
    public var states: [Double]

    public init(id: Int, frameCount: Int, height: Int, width: Int, channels: Int, frames: [UInt8],
                stateDimension: Int = 0, states: [Double] = []) {
        precondition(frames.count == frameCount * height * width * channels, "frame buffer size mismatch")
        precondition(states.count == frameCount * stateDimension, "state buffer size mismatch")
        self.id = id; self.frameCount = frameCount; self.height = height; self.width = width
        self.channels = channels; self.frames = frames; self.stateDimension = stateDimension; self.states = states
    }

    public var bytesPerFrame: Int { height * width * channels }
}

/// What every trajectory of a dataset shares.
public struct DatasetDescription: Sendable, Codable, Equatable {
    public var system: String          // "pendulum", "elastic_pendulum", "double_pendulum", "circle", "video", …
    public var frameCount: Int         // frames per trajectory
    public var height: Int
    public var width: Int
    public var channels: Int
    public var dt: Double              // seconds between frames
    public var stateNames: [String]    // empty for real video

    public init(system: String, frameCount: Int, height: Int, width: Int, channels: Int, dt: Double, stateNames: [String]) {
        self.system = system; self.frameCount = frameCount; self.height = height; self.width = width
        self.channels = channels; self.dt = dt; self.stateNames = stateNames
    }
}

/// Train/validation/test split. By trajectory ids, or (circular motion, docs/method.md §Data) by time: frame ranges
/// of the listed trajectories.
public struct DatasetSplits: Sendable, Codable, Equatable {
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]
    /// When set, every split uses all trajectories but only these frame ranges [start, end).
    public var trainFrames: [Int]?
    public var validationFrames: [Int]?
    public var testFrames: [Int]?

    public init(train: [Int], validation: [Int], test: [Int],
                trainFrames: [Int]? = nil, validationFrames: [Int]? = nil, testFrames: [Int]? = nil) {
        self.train = train; self.validation = validation; self.test = test
        self.trainFrames = trainFrames; self.validationFrames = validationFrames; self.testFrames = testFrames
    }
}
