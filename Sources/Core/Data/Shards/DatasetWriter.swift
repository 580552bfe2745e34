/// Writes a dataset directory: shard files of zstd-compressed trajectories plus manifest.json.
/// (Interface fixed; implementation owned by the shard-format work.)
public final class DatasetWriter {
    public let directory: String
    public let description: DatasetDescription

    public init(directory: String, description: DatasetDescription, trajectoriesPerShard: Int = 64,
                compressionLevel: Int32 = 3) throws {
        self.directory = directory
        self.description = description
        fatalError("DatasetWriter: not implemented yet")
    }

    /// Appends one trajectory (its shape must match the description).
    public func append(_ sequence: FrameSequence) throws {
        fatalError("DatasetWriter.append: not implemented yet")
    }

    /// Flushes the last shard and writes manifest.json atomically.
    public func finish(splits: DatasetSplits) throws {
        fatalError("DatasetWriter.finish: not implemented yet")
    }
}
