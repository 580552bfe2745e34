"""Writes tiny PNGs of the less common kinds (palette, RGBA, grey+alpha, 16-bit, 1-bit) with only
the standard library, and prints them as base64 for Tests/CoreTests/ImageTests.swift, so the
decoder's conversions are checked against files libpng did not write itself."""
import base64, struct, zlib

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

def png(width, height, bit_depth, colour_type, rows, extra=b""):
    raw = b"".join(b"\x00" + r for r in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")

fixtures = {
    # 2×2 palette: red, green / blue, white; blue is fully transparent via tRNS (colour kept).
    "palette": png(2, 2, 8, 3, [bytes([0, 1]), bytes([2, 3])],
                   chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])) + chunk(b"tRNS", bytes([255, 255, 0]))),
    # 2×1 RGBA with alpha 0 and 128: the colours must survive unchanged.
    "rgba": png(2, 1, 8, 6, [bytes([10, 20, 30, 0, 200, 100, 50, 128])]),
    # 2×1 grey + alpha.
    "grey_alpha": png(2, 1, 8, 4, [bytes([77, 0, 201, 255])]),
    # 2×1 16-bit RGB with values v·257 (exactly representable as 8-bit v).
    "rgb16": png(2, 1, 16, 2, [struct.pack(">6H", *[v * 257 for v in (1, 128, 255, 0, 60, 200)])]),
    # 8×1 1-bit grey: 10110010.
    "grey1": png(8, 1, 1, 0, [bytes([0b10110010])]),
}
for name, data in fixtures.items():
    print(f'"{name}": "{base64.b64encode(data).decode()}",')
