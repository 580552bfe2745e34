import Core
import Foundation

/// Debugging aid for cross-checking training against PyTorch (tools/compare_training.py): passes
/// batches through unchanged and appends each one's pixels to a raw file, so another implementation
/// can replay exactly the batch sequence this run trained on. Pixels are k/255, so storing
/// round(255·v) as bytes is exact. Layout per step: x then y, each [local batch, C, H, 2W] uint8;
/// `PATH.json` records the shape.
final class BatchRecorder: BatchSource {
    private let inner: BatchSource
    private let handle: FileHandle
    private let path: String
    private var wroteShape = false

    init(wrapping inner: BatchSource, path: String) throws {
        self.inner = inner
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let h = FileHandle(forWritingAtPath: path) else {
            throw UserError("--debug-record-batches: cannot create \(path)")
        }
        handle = h
    }

    var stepsPerEpoch: Int { inner.stepsPerEpoch }
    var position: LoaderPosition { inner.position }
    func seek(to position: LoaderPosition) throws { try inner.seek(to: position) }

    func nextBatch() throws -> Batch {
        let batch = try inner.nextBatch()
        if !wroteShape {
            let shape = "{\"x_shape\": \(batch.x.shape), \"y_shape\": \(batch.y.shape)}\n"
            try shape.write(toFile: path + ".json", atomically: true, encoding: .utf8)
            wroteShape = true
        }
        for t in [batch.x, batch.y] {
            var bytes = [UInt8](repeating: 0, count: t.count)
            for i in 0..<t.count { bytes[i] = UInt8((t.data[i] * 255).rounded()) }
            handle.write(Data(bytes))
        }
        return batch
    }
}
