"""Label glyphs for the map: signed-distance-field ranges in the protobuf format MapLibre's
`glyphs` URL expects (`/fonts/{fontstack}/{start}-{end}.pbf`), drawn here from a font
installed with the system (Debian's fonts-dejavu-core), so the viewer writes Spanish labels
(tildes, eñes, ¿¡) with no font server on the Internet.

Each glyph follows node-fontnik, the generator of the published glyph sets: 24 px em,
3 px buffer, distances scaled so 8 px span the 8-bit range, edge at 192/255 (cutoff 0.25),
metrics from the outline's bounding box. The distance field is computed with shapely on
the glyph's outline (curves flattened), inside by the even-odd rule. A range is made on its
first request and kept in memory; a range without glyphs in the font is a valid empty
answer, so MapLibre never logs a failed request.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import shapely
from fastapi import APIRouter, Response

from geo.errors import NotFound

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "DejaVu Sans Book": FONT_DIR / "DejaVuSans.ttf",
    "DejaVu Sans Bold": FONT_DIR / "DejaVuSans-Bold.ttf",
}
DEFAULT_FONT = "DejaVu Sans Book"
SIZE = 24  # px per em, as MapLibre expects
BUFFER = 3  # px of field around the glyph's box
RADIUS = 8  # px of distance mapped onto the 8-bit range
CUTOFF = 0.25  # share of the range kept for the inside: the edge is at 255 * (1 - CUTOFF)
CURVE_STEPS = 8  # segments per Bézier piece when flattening outlines


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(number << 3 | wire)
    if wire == 0:
        return key + _varint(int(payload))
    return key + _varint(len(payload)) + payload


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _rings(outline) -> list[np.ndarray]:
    """The outline's contours as closed rings of points (px), curves flattened."""
    rings: list[list[tuple[float, float]]] = []
    steps = np.linspace(0.0, 1.0, CURVE_STEPS + 1)[1:]

    def move_to(p, _):
        rings.append([(p.x / 64, p.y / 64)])

    def line_to(p, _):
        rings[-1].append((p.x / 64, p.y / 64))

    def conic_to(c, p, _):
        x0, y0 = rings[-1][-1]
        cx, cy, x1, y1 = c.x / 64, c.y / 64, p.x / 64, p.y / 64
        for t in steps:
            u = 1 - t
            rings[-1].append(
                (u * u * x0 + 2 * u * t * cx + t * t * x1, u * u * y0 + 2 * u * t * cy + t * t * y1)
            )

    def cubic_to(c1, c2, p, _):
        x0, y0 = rings[-1][-1]
        ax, ay, bx, by = c1.x / 64, c1.y / 64, c2.x / 64, c2.y / 64
        x1, y1 = p.x / 64, p.y / 64
        for t in steps:
            u = 1 - t
            rings[-1].append(
                (
                    u**3 * x0 + 3 * u * u * t * ax + 3 * u * t * t * bx + t**3 * x1,
                    u**3 * y0 + 3 * u * u * t * ay + 3 * u * t * t * by + t**3 * y1,
                )
            )

    outline.decompose(None, move_to=move_to, line_to=line_to, conic_to=conic_to, cubic_to=cubic_to)
    return [np.array(ring + [ring[0]]) for ring in rings if len(ring) >= 3]


def _glyph(face, code: int) -> bytes | None:
    """One glyph message, or None when the font has no such character."""
    import freetype

    if not face.get_char_index(code):
        return None
    face.load_char(code, freetype.FT_LOAD_NO_HINTING)
    advance = round(face.glyph.metrics.horiAdvance / 64)
    rings = _rings(face.glyph.outline)
    message = _field(1, 0, code)
    if not rings:  # a space: metrics only
        return (
            message
            + _field(3, 0, 0)
            + _field(4, 0, 0)
            + _field(5, 0, 0)
            + _field(6, 0, 0)
            + _field(7, 0, advance)
        )
    allpoints = np.concatenate(rings)
    xmin, ymin = np.round(allpoints.min(axis=0))
    xmax, ymax = np.round(allpoints.max(axis=0))
    width, height = int(xmax - xmin), int(ymax - ymin)
    if width == 0 or height == 0:
        return None
    full_w, full_h = width + 2 * BUFFER, height + 2 * BUFFER
    # Pixel centres in outline coordinates, first row at the top.
    xs = xmin - BUFFER + np.arange(full_w) + 0.5
    ys = ymin - BUFFER + (full_h - 1 - np.arange(full_h)) + 0.5
    gx, gy = np.meshgrid(xs, ys)
    points = shapely.points(gx.ravel(), gy.ravel())
    inside = np.zeros(points.shape, dtype=bool)
    distance = np.full(points.shape, np.inf)
    for ring in rings:
        inside ^= shapely.contains_xy(shapely.Polygon(ring), gx.ravel(), gy.ravel())
        distance = np.minimum(distance, shapely.distance(shapely.LineString(ring), points))
    signed = np.where(inside, -distance, distance) * (256 / RADIUS) + CUTOFF * 256
    bitmap = (255 - np.clip(signed, 0, 255)).astype(np.uint8).tobytes()
    return (
        message
        + _field(2, 2, bitmap)
        + _field(3, 0, width)
        + _field(4, 0, height)
        + _field(5, 0, _zigzag(int(xmin)))
        + _field(6, 0, _zigzag(int(ymax)))
        + _field(7, 0, advance)
    )


@functools.lru_cache(maxsize=64)
def glyph_range(fontstack: str, start: int) -> bytes:
    """The protobuf of characters start..start+255 for the first known font of the stack."""
    import freetype

    if start % 256 or not 0 <= start <= 65280:
        raise NotFound(f"Rango de glifos inválido: {start}.", where="range")
    name = next((f.strip() for f in fontstack.split(",") if f.strip() in FONTS), DEFAULT_FONT)
    face = freetype.Face(str(FONTS[name]))
    face.set_char_size(SIZE * 64)
    glyphs = b"".join(
        _field(3, 2, glyph)
        for code in range(start, start + 256)
        if (glyph := _glyph(face, code)) is not None
    )
    stack = _field(1, 2, fontstack.encode()) + _field(2, 2, f"{start}-{start + 255}".encode())
    return _field(1, 2, stack + glyphs)


def router() -> APIRouter:
    """GET /fonts/{fontstack}/{start}-{end}.pbf for the MapLibre style's `glyphs`."""
    api = APIRouter(tags=["mapa"])

    @api.get(
        "/fonts/{fontstack}/{start}-{end}.pbf",
        operation_id="glyphs",
        summary="Glifos SDF para las etiquetas del mapa",
    )
    def glyphs(fontstack: str, start: int, end: int) -> Response:
        if end != start + 255:
            raise NotFound(f"Rango de glifos inválido: {start}-{end}.", where="range")
        return Response(
            glyph_range(fontstack, start),
            media_type="application/x-protobuf",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return api
