/// Lays out and draws one `ImageStrip` into a cell of a figure.
struct ImageStripRenderer {
    let strip: ImageStrip
    static let gap = 6.0, captionSize = 11.0, labelSize = 12.0

    func draw(in cell: PlotRect, canvas: CairoCanvas) throws {
        try strip.validate()
        let pad = ChartRenderer.pad
        let frameWidth = Double(strip.rows[0].frames[0].width), frameHeight = Double(strip.rows[0].frames[0].height)
        let titleHeight = strip.title.isEmpty ? 0 : canvas.lineHeight(size: ChartRenderer.titleSize, bold: true) + 6
        let top = cell.y + pad + titleHeight
        let captionHeight = strip.captions.isEmpty ? 0 : canvas.lineHeight(size: Self.captionSize) + 4
        let labelWidth = strip.rows.map { canvas.textWidth($0.label, size: Self.labelSize) }.max() ?? 0
        let left = cell.x + pad + (labelWidth > 0 ? labelWidth + 8 : 0)
        let columns = Double(strip.columns), rows = Double(strip.rows.count)
        let availableWidth = cell.maxX - pad - left - Self.gap * (columns - 1)
        let availableHeight = cell.maxY - pad - captionHeight - top - Self.gap * (rows - 1)
        var scale = min(availableWidth / columns / frameWidth, availableHeight / rows / frameHeight)
        guard scale > 0 else { throw PlotError("\(strip.context): cell of \(Int(cell.width))×\(Int(cell.height)) px is too small for \(strip.columns)×\(strip.rows.count) frames") }
        if scale >= 1 { scale = scale.rounded(.down) }   // whole pixels: every source pixel the same size
        let gridWidth = columns * frameWidth * scale + Self.gap * (columns - 1)
        let gridHeight = rows * frameHeight * scale + Self.gap * (rows - 1)
        let x0 = (left + (cell.maxX - pad - left - gridWidth) / 2).rounded()
        // Title, grid and captions stay together, centred in the cell as one block.
        let y0 = (top + (cell.maxY - pad - captionHeight - top - gridHeight) / 2).rounded()

        canvas.text(strip.title, x: x0 + gridWidth / 2, y: y0 - titleHeight, size: ChartRenderer.titleSize, bold: true, h: .center, v: .top)
        for (r, row) in strip.rows.enumerated() {
            let y = y0 + Double(r) * (frameHeight * scale + Self.gap)
            canvas.text(row.label, x: x0 - 8, y: y + frameHeight * scale / 2, size: Self.labelSize, h: .right, v: .middle)
            for (c, frame) in row.frames.enumerated() {
                let x = x0 + Double(c) * (frameWidth * scale + Self.gap)
                try canvas.image(frame, x: x, y: y, scale: scale)
                canvas.outline(PlotRect(x: x - 1, y: y - 1, width: frameWidth * scale + 2, height: frameHeight * scale + 2), PlotColor(hex: 0x999999))
            }
        }
        for (c, caption) in strip.captions.enumerated() {
            canvas.text(caption, x: x0 + (Double(c) + 0.5) * (frameWidth * scale + Self.gap) - Self.gap / 2,
                        y: y0 + gridHeight + 4, size: Self.captionSize, h: .center, v: .top)
        }
    }
}
