/// A panel of frames in a grid: one row per labelled sequence (e.g. "true", "predicted"), frames
/// side by side, optional captions under the columns. Frames are scaled by the same factor
/// (nearest neighbour, whole pixels when enlarged) so pixels stay visible and comparable.
public struct ImageStrip: Sendable {
    public struct Row: Sendable {
        public var label: String
        public var frames: [PixelImage]
        public init(label: String = "", frames: [PixelImage]) { self.label = label; self.frames = frames }
    }

    public var title: String
    public var rows: [Row]
    public var captions: [String]

    public init(title: String = "", rows: [Row], captions: [String] = []) {
        self.title = title; self.rows = rows; self.captions = captions
    }

    /// One unlabelled row.
    public init(title: String = "", frames: [PixelImage], captions: [String] = []) {
        self.init(title: title, rows: [Row(frames: frames)], captions: captions)
    }

    var context: String { title.isEmpty ? "image strip" : "image strip '\(title)'" }
    var columns: Int { rows.map(\.frames.count).max() ?? 0 }

    func validate() throws {
        guard !rows.isEmpty else { throw PlotError("\(context): no rows of frames") }
        guard let first = rows.first?.frames.first else { throw PlotError("\(context): row 0 ('\(rows[0].label)') has no frames") }
        for (r, row) in rows.enumerated() {
            guard !row.frames.isEmpty else { throw PlotError("\(context): row \(r) ('\(row.label)') has no frames") }
            for (i, frame) in row.frames.enumerated() where frame.width != first.width || frame.height != first.height {
                throw PlotError("\(context): row \(r) frame \(i) is \(frame.width)×\(frame.height), the first frame is \(first.width)×\(first.height); all frames must be the same size")
            }
        }
        guard captions.isEmpty || captions.count == columns else {
            throw PlotError("\(context): \(captions.count) captions for \(columns) columns")
        }
    }
}
