extension FrameSequence {
    /// Frame `k` as an image (a copy of its bytes).
    public func frameImage(_ k: Int) -> PixelImage {
        precondition(k >= 0 && k < frameCount, "frame \(k) outside 0..<\(frameCount)")
        return PixelImage(width: width, height: height, channels: channels,
                          pixels: Array(frames[(k * bytesPerFrame)..<((k + 1) * bytesPerFrame)]))
    }

    /// Builds a trajectory from equally sized frames.
    public init(id: Int, images: [PixelImage]) {
        precondition(!images.isEmpty, "a trajectory needs frames")
        let first = images[0]
        var bytes: [UInt8] = []
        bytes.reserveCapacity(images.count * first.pixels.count)
        for image in images {
            precondition(image.width == first.width && image.height == first.height && image.channels == first.channels,
                         "frames of one trajectory must share a shape")
            bytes.append(contentsOf: image.pixels)
        }
        self.init(id: id, frameCount: images.count, height: first.height, width: first.width,
                  channels: first.channels, frames: bytes)
    }
}
