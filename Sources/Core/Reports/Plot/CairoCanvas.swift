import CCairo
import Foundation

/// A rectangle in pixels, origin top left.
struct PlotRect {
    var x: Double, y: Double, width: Double, height: Double
    var maxX: Double { x + width }
    var maxY: Double { y + height }
    func contains(_ px: Double, _ py: Double) -> Bool { px >= x && px <= maxX && py >= y && py <= maxY }
}

/// The few drawing operations figures need, over one cairo context. All text is DejaVu Sans
/// through cairo's toy font API (fontconfig resolves the name; anti-aliased).
final class CairoCanvas {
    enum HAlign { case left, center, right }
    enum VAlign { case top, middle, baseline, bottom }

    static let fontFamily = "DejaVu Sans"
    let context: OpaquePointer

    init(surface: OpaquePointer) {
        context = cairo_create(surface)
        cairo_set_line_join(context, CAIRO_LINE_JOIN_ROUND)
    }

    deinit { cairo_destroy(context) }

    var status: String? {
        let s = cairo_status(context)
        return s == CAIRO_STATUS_SUCCESS ? nil : String(cString: cairo_status_to_string(s))
    }

    // MARK: text

    private func setFont(size: Double, bold: Bool) {
        cairo_select_font_face(context, Self.fontFamily, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(context, size)
    }

    func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
        setFont(size: size, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(context, text, &extents)
        return extents.x_advance
    }

    /// Ascent + descent of the font: the same for every string, so labels line up.
    func lineHeight(size: Double, bold: Bool = false) -> Double {
        let (ascent, descent) = metrics(size: size, bold: bold)
        return ascent + descent
    }

    private func metrics(size: Double, bold: Bool) -> (ascent: Double, descent: Double) {
        setFont(size: size, bold: bold)
        var extents = cairo_font_extents_t()
        cairo_font_extents(context, &extents)
        return (extents.ascent, extents.descent)
    }

    /// Draws `text` anchored at (x, y); `rotated` turns it a quarter counter-clockwise (y labels).
    func text(_ text: String, x: Double, y: Double, size: Double, bold: Bool = false, color: PlotColor = .ink,
              h: HAlign = .left, v: VAlign = .baseline, rotated: Bool = false) {
        guard !text.isEmpty else { return }
        let width = textWidth(text, size: size, bold: bold)
        let (ascent, descent) = metrics(size: size, bold: bold)
        let dx: Double = h == .left ? 0 : h == .center ? -width / 2 : -width
        let dy: Double
        switch v {
        case .top: dy = ascent
        case .middle: dy = (ascent - descent) / 2
        case .baseline: dy = 0
        case .bottom: dy = -descent
        }
        cairo_save(context)
        cairo_translate(context, x, y)
        if rotated { cairo_rotate(context, -Double.pi / 2) }
        setColor(color)
        cairo_move_to(context, dx, dy)
        cairo_show_text(context, text)
        cairo_restore(context)
    }

    // MARK: shapes

    func setColor(_ c: PlotColor, alpha: Double = 1) {
        cairo_set_source_rgba(context, c.red, c.green, c.blue, alpha)
    }

    func fill(_ r: PlotRect, _ color: PlotColor, alpha: Double = 1) {
        setColor(color, alpha: alpha)
        cairo_rectangle(context, r.x, r.y, r.width, r.height)
        cairo_fill(context)
    }

    /// A 1-pixel outline on pixel centres, so it stays crisp.
    func outline(_ r: PlotRect, _ color: PlotColor) {
        setColor(color)
        cairo_set_line_width(context, 1)
        cairo_set_dash(context, nil, 0, 0)
        cairo_rectangle(context, r.x.rounded() + 0.5, r.y.rounded() + 0.5, r.width.rounded() - 1, r.height.rounded() - 1)
        cairo_stroke(context)
    }

    func polyline(_ points: [(Double, Double)], color: PlotColor, width: Double, dash: Dash = .solid) {
        guard let first = points.first else { return }
        setColor(color)
        cairo_set_line_width(context, width)
        let pattern = dash.pattern
        cairo_set_dash(context, pattern, Int32(pattern.count), 0)
        cairo_set_line_cap(context, dash == .solid ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_ROUND)
        cairo_move_to(context, first.0, first.1)
        for p in points.dropFirst() { cairo_line_to(context, p.0, p.1) }
        cairo_stroke(context)
        cairo_set_dash(context, nil, 0, 0)
    }

    /// A crisp 1-pixel horizontal or vertical segment.
    func hairline(x0: Double, y0: Double, x1: Double, y1: Double, color: PlotColor) {
        let snap = { (v: Double) in v.rounded(.down) + 0.5 }
        let (a, b, c, d) = x0 == x1 ? (snap(x0), y0, snap(x1), y1) : (x0, snap(y0), x1, snap(y1))
        polyline([(a, b), (c, d)], color: color, width: 1)
    }

    func marker(_ kind: Marker, x: Double, y: Double, size: Double, color: PlotColor) {
        let r = size / 2
        setColor(color)
        switch kind {
        case .none: return
        case .circle: cairo_arc(context, x, y, r, 0, 2 * Double.pi); cairo_fill(context)
        case .square: cairo_rectangle(context, x - r, y - r, size, size); cairo_fill(context)
        case .triangle:
            cairo_move_to(context, x, y - r * 1.15); cairo_line_to(context, x + r, y + r * 0.85)
            cairo_line_to(context, x - r, y + r * 0.85); cairo_close_path(context); cairo_fill(context)
        case .cross:
            cairo_set_line_width(context, max(1.2, size / 4))
            cairo_move_to(context, x - r, y - r); cairo_line_to(context, x + r, y + r)
            cairo_move_to(context, x - r, y + r); cairo_line_to(context, x + r, y - r)
            cairo_stroke(context)
        }
    }

    func clip(_ r: PlotRect, _ body: () -> Void) {
        cairo_save(context)
        cairo_rectangle(context, r.x, r.y, r.width, r.height)
        cairo_clip(context)
        body()
        cairo_restore(context)
    }

    /// Paints `image` with its top-left corner at (x, y), enlarged `scale` times without smoothing.
    func image(_ image: PixelImage, x: Double, y: Double, scale: Double) throws {
        let stride = Int(cairo_format_stride_for_width(CAIRO_FORMAT_RGB24, Int32(image.width)))
        var data = [UInt8](repeating: 0, count: stride * image.height)
        for row in 0..<image.height {
            for column in 0..<image.width {
                let o = row * stride + column * 4   // RGB24 is native-endian 0x00RRGGBB
                let r = image[row, column, 0]
                let g = image.channels == 3 ? image[row, column, 1] : r
                let b = image.channels == 3 ? image[row, column, 2] : r
                let word = UInt32(r) << 16 | UInt32(g) << 8 | UInt32(b)
                withUnsafeBytes(of: word) { for k in 0..<4 { data[o + k] = $0[k] } }
            }
        }
        try data.withUnsafeMutableBytes { raw in
            guard let source = cairo_image_surface_create_for_data(
                raw.baseAddress!.assumingMemoryBound(to: UInt8.self), CAIRO_FORMAT_RGB24,
                Int32(image.width), Int32(image.height), Int32(stride)) else { throw PlotError("cairo could not wrap a frame") }
            defer { cairo_surface_destroy(source) }
            cairo_save(context)
            cairo_translate(context, x, y)
            cairo_scale(context, scale, scale)
            cairo_set_source_surface(context, source, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
            cairo_paint(context)
            cairo_restore(context)
            // The SVG surface records the paint and replays it later; destroying `source` (before
            // `data` goes away) makes cairo copy the pixels into that recording's snapshot.
        }
    }

    /// The family fontconfig actually resolved `fontFamily` to (it silently substitutes another
    /// font when DejaVu is missing), or nil when the font backend is not FreeType.
    static func resolvedFontFamily() -> String? {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 4, 4) else { return nil }
        defer { cairo_surface_destroy(surface) }
        let canvas = CairoCanvas(surface: surface)
        canvas.setFont(size: 12, bold: false)
        guard let scaled = cairo_get_scaled_font(canvas.context),
              cairo_scaled_font_get_type(scaled) == CAIRO_FONT_TYPE_FT,
              let face = cairo_ft_scaled_font_lock_face(scaled) else { return nil }
        defer { cairo_ft_scaled_font_unlock_face(scaled) }
        return face.pointee.family_name.map { String(cString: $0) }
    }

    /// Checked once per process: a clear error beats a figure in a substitute font.
    static let fontProblem: String? = {
        guard let family = resolvedFontFamily() else { return nil }
        return family == fontFamily ? nil
            : "fontconfig resolves '\(fontFamily)' to '\(family)'; install the Debian package fonts-dejavu-core (scripts/setup.sh does)"
    }()
}
