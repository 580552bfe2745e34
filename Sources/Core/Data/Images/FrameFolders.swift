import Foundation
import Dispatch

/// Chen et al.'s on-disk layout (docs/formats.md §Dataset): one folder per trajectory named
/// 0, 1, 2, …, holding frames 0.png, 1.png, … (or .jpg). Scanning checks the whole layout before
/// any decoding, so a missing folder, a gap in the frames or a trajectory of a different length is
/// reported up front, naming the folder.
public struct FrameFolderDataset: Sendable {
    public let root: String
    /// Trajectory folders in id order (ids are 0..<count).
    public let folders: [String]
    /// Frame files per trajectory, in frame order.
    public let frameFiles: [[String]]
    public let framesPerTrajectory: Int

    public var trajectoryCount: Int { folders.count }

    /// - Parameter framesPerTrajectory: the expected frame count; nil takes trajectory 0's.
    public static func scan(root: String, framesPerTrajectory: Int? = nil) throws -> FrameFolderDataset {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw IngestError("\(root): not a directory; --folders needs the dataset root holding folders 0, 1, 2, …")
        }
        let entries = try fm.contentsOfDirectory(atPath: root)
        var ids: [Int: String] = [:]
        for name in entries {
            guard let id = Int(name), id >= 0, String(id) == name else { continue }   // e.g. states.npy
            let path = (root as NSString).appendingPathComponent(name)
            var dir: ObjCBool = false
            if fm.fileExists(atPath: path, isDirectory: &dir), dir.boolValue { ids[id] = path }
        }
        guard !ids.isEmpty else {
            throw IngestError("\(root): no trajectory folders named 0, 1, 2, … found")
        }
        let count = ids.keys.max()! + 1
        if let missing = (0..<count).first(where: { ids[$0] == nil }) {
            throw IngestError("\(root): trajectory folder \(missing) is missing (found \(ids.count) folders with ids up to \(count - 1)); ids must be 0..N-1")
        }
        if let expected = framesPerTrajectory, expected < 2 {
            throw IngestError("frames per trajectory must be at least 2, got \(expected)")
        }
        var folders: [String] = [], files: [[String]] = []
        var expected = framesPerTrajectory
        for id in 0..<count {
            let folder = ids[id]!
            let frames = try scanFrames(folder: folder)
            if let e = expected, frames.count != e {
                let why = framesPerTrajectory != nil ? "--frames-per-trajectory is \(e)" : "trajectory 0 has \(e)"
                throw IngestError("\(folder): has \(frames.count) frames but \(why); every trajectory must have the same length")
            }
            expected = frames.count
            folders.append(folder); files.append(frames)
        }
        guard expected! >= 2 else { throw IngestError("\(folders[0]): trajectories need at least 2 frames, found \(expected!)") }
        return FrameFolderDataset(root: root, folders: folders, frameFiles: files, framesPerTrajectory: expected!)
    }

    /// Frame files k.png / k.jpg / k.jpeg of one folder, checked to be 0..n-1 without gaps.
    static func scanFrames(folder: String) throws -> [String] {
        var frames: [Int: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            let ext = (name as NSString).pathExtension
            let stem = (name as NSString).deletingPathExtension
            guard ImageFile.isSupportedExtension(ext), let k = Int(stem), k >= 0, String(k) == stem else { continue }
            let path = (folder as NSString).appendingPathComponent(name)
            if let other = frames[k] {
                throw IngestError("\(folder): frame \(k) exists twice (\((other as NSString).lastPathComponent) and \(name))")
            }
            frames[k] = path
        }
        guard !frames.isEmpty else { throw IngestError("\(folder): no frames named 0.png, 1.png, … (or .jpg)") }
        let n = frames.keys.max()! + 1
        if let gap = (0..<n).first(where: { frames[$0] == nil }) {
            throw IngestError("\(folder): frame \(gap) is missing (frames go up to \(n - 1))")
        }
        return (0..<n).map { frames[$0]! }
    }

    /// Decodes and resizes trajectory `id`'s frames (in parallel over frames).
    public func load(_ id: Int, size: Int, channels: Int, filter: ResizeFilter = .automatic) throws -> FrameSequence {
        let files = frameFiles[id]
        let results = ImageDecodeSlots<PixelImage>(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { k in
            results.set(k, Result {
                let image = try ImageFile.read(files[k], channels: channels)
                return ImageResizer.resize(image, width: size, height: size, filter: filter)
            })
        }
        return FrameSequence(id: id, images: try results.values())
    }
}

/// Raw rgb24 frames from a file descriptor (e.g. `ffmpeg … -f rawvideo -pix_fmt rgb24 -`).
public struct RawVideoReader {
    public let fileDescriptor: Int32
    public let width: Int
    public let height: Int
    public private(set) var framesRead = 0

    public init(fileDescriptor: Int32 = 0, width: Int, height: Int) throws {
        guard width > 0, height > 0, width <= 1 << 15, height <= 1 << 15 else {
            throw IngestError("raw video size \(width)×\(height) is invalid; give --width and --height of the rgb24 stream")
        }
        self.fileDescriptor = fileDescriptor; self.width = width; self.height = height
    }

    /// The next frame, or nil at a clean end of stream. A stream ending mid-frame is an error
    /// (usually a wrong --width/--height).
    public mutating func next() throws -> PixelImage? {
        let frameBytes = width * height * 3
        var buffer = [UInt8](repeating: 0, count: frameBytes)
        var filled = 0
        while filled < frameBytes {
            let n = buffer.withUnsafeMutableBytes { read(fileDescriptor, $0.baseAddress! + filled, frameBytes - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IngestError("<stdin frame \(framesRead)>: read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            filled += n
        }
        if filled == 0 { return nil }
        guard filled == frameBytes else {
            throw IngestError("<stdin frame \(framesRead)>: stream ended mid-frame (\(filled) of \(frameBytes) bytes for \(width)×\(height) rgb24); check --width/--height and -pix_fmt rgb24")
        }
        framesRead += 1
        return PixelImage(width: width, height: height, channels: 3, pixels: buffer)
    }
}

public struct IngestError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Per-index results from concurrent workers.
final class ImageDecodeSlots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<T, Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Result<T, Error>) { lock.lock(); slots[i] = value; lock.unlock() }
    /// All values in order, or the first error by index.
    func values() throws -> [T] { try slots.map { try $0!.get() } }
}
